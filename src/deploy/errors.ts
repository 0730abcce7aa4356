/** `serverless package` did not produce a package: the message carries the tail of its output. */
export class PackageFailedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(message);
    this.name = 'PackageFailedError';
  }
}

/** The shared data directory (CloudFormation schemas, IAM actions) is not where the repository expects it. */
export class SharedDirNotFoundError extends Error {
  constructor(readonly path: string) {
    super(
      `shared directory not found at ${path}: it must sit beside the repository (../shared), ` +
        'or SMHOST_SHARED_DIR must name it',
    );
    this.name = 'SharedDirNotFoundError';
  }
}
