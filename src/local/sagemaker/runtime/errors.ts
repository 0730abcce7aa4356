/**
 * Errors of the SageMaker runtime (`InvokeEndpoint`), with the names and HTTP codes of the service so that
 * SDK v3 and boto3 raise `ModelError`, `ValidationError`, `ServiceUnavailable`, ... as they do on AWS.
 */
export class RuntimeApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra members of the error shape (`OriginalStatusCode`, `OriginalMessage`, `LogStreamArn`). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** `ValidationError` (400): the request is wrong, or the endpoint cannot take it. */
export class RuntimeValidationError extends RuntimeApiError {
  constructor(message: string, status = 400) {
    super('ValidationError', status, message);
  }
}

/** `ModelError` (424): a container answered with an error, or did not answer in time. */
export class ModelErrorError extends RuntimeApiError {
  constructor(message: string, fields: { OriginalStatusCode?: number; OriginalMessage?: string; LogStreamArn: string }) {
    super('ModelError', 424, message, fields);
  }
}

/** `ServiceUnavailable` (503): the endpoint's containers cannot be reached right now. */
export class ServiceUnavailableError extends RuntimeApiError {
  constructor(message: string) {
    super('ServiceUnavailable', 503, message);
  }
}

/**
 * `ModelNotReadyException` (429): a multi-model endpoint is still downloading or loading the target model
 * after the runtime's wait; the load goes on, and a retry finds it loaded.
 */
export class ModelNotReadyError extends RuntimeApiError {
  constructor(message: string) {
    super('ModelNotReadyException', 429, message);
  }
}
