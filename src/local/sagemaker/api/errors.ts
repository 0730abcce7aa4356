/**
 * Errors of the SageMaker control plane, with the names and HTTP codes the service answers with, so SDK v3,
 * boto3 and the AWS CLI raise their own exception classes (`ValidationException`, `ResourceNotFound`, ...).
 */
export class SageMakerApiError extends Error {
  constructor(
    /** The AWS error code, sent as `__type`. */
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** `ValidationException`: bad input, or (as SageMaker does) a named resource that does not exist. */
export class ValidationExceptionError extends SageMakerApiError {
  constructor(message: string) {
    super('ValidationException', message);
  }
}

/** `ResourceNotFound`, used by the operations whose AWS model declares it (transform jobs). */
export class ResourceNotFoundError extends SageMakerApiError {
  constructor(message: string) {
    super('ResourceNotFound', message);
  }
}

/** `ResourceInUse`: the resource exists or is busy in a way that forbids the operation. */
export class ResourceInUseError extends SageMakerApiError {
  constructor(message: string) {
    super('ResourceInUse', message);
  }
}

/** `ResourceLimitExceeded`: a local quota (instances per variant, endpoints, containers) would be passed. */
export class ResourceLimitExceededError extends SageMakerApiError {
  constructor(message: string) {
    super('ResourceLimitExceeded', message);
  }
}

/** `ConflictException`: a concurrent change to the same resource. */
export class ConflictExceptionError extends SageMakerApiError {
  constructor(message: string) {
    super('ConflictException', message);
  }
}

/** The operation named by `X-Amz-Target` is not one the emulator serves. */
export class UnknownOperationError extends SageMakerApiError {
  constructor(operation: string) {
    super('UnknownOperationException', `The emulator does not implement SageMaker.${operation}`, 400);
  }
}
