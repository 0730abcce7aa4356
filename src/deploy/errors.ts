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

/**
 * A CloudFormation value could not be evaluated offline: an unknown intrinsic, a reference to nothing, an
 * attribute without a known shape. `path` locates the value in the template (`Resources.X.Properties.Y`).
 */
export class TemplateEvaluationError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'TemplateEvaluationError';
  }
}

/** A template given to the checks is not a CloudFormation template at all (no `Resources` object, ...). */
export class InvalidTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTemplateError';
  }
}
