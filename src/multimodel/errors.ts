/** Errors the multi-model use cases raise for a caller's input (the command line turns them into messages and exit codes). */

/** An endpoint, model or version name given by a caller breaks a naming rule; the message names the input and the rule. */
export class InvalidModelInputError extends Error {
  override readonly name = 'InvalidModelInputError';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message);
  }
}

/** The endpoint has no such model in the registry (or it was removed). */
export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';
  constructor(
    readonly endpoint: string,
    readonly model: string,
    detail?: string,
  ) {
    super(`model "${model}" is not registered with endpoint "${endpoint}"${detail ? ` (${detail})` : ''}`);
  }
}

/** The model exists but no version of it can be served now; the message carries the registry's reason. */
export class NoCurrentVersionError extends Error {
  override readonly name = 'NoCurrentVersionError';
  constructor(
    readonly endpoint: string,
    readonly model: string,
    reason?: string,
  ) {
    super(`model "${model}" of endpoint "${endpoint}" has no current version${reason ? `: ${reason}` : ''}`);
  }
}

/** A warm-up asked for by a caller failed with a `ModelError`, so nothing was changed. */
export class WarmUpFailedError extends Error {
  override readonly name = 'WarmUpFailedError';
  constructor(
    readonly targetModel: string,
    readonly reason: string,
  ) {
    super(`warm-up of "${targetModel}" failed: ${reason}`);
  }
}
