/** Helpers to classify errors thrown by AWS SDK v3 clients without depending on each service's classes. */

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The AWS error name (`NoSuchKey`, `ConditionalCheckFailedException`, ...), or `undefined`. */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as SdkErrorShape;
  return e.name ?? e.Code ?? e.code;
}

/** The HTTP status the service answered with, when the error came from a response. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as SdkErrorShape).$metadata?.httpStatusCode;
}

export function hasErrorName(error: unknown, ...names: string[]): boolean {
  const name = errorName(error);
  return name !== undefined && names.includes(name);
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * True for failures worth retrying later (throttling, 5xx, timeouts, dropped connections): the
 * caller should let the message go back to the queue rather than record a permanent outcome.
 */
export function isTransientError(error: unknown): boolean {
  const name = errorName(error);
  if (name && TRANSIENT_NAMES.has(name)) return true;
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (typeof error === 'object' && error !== null && (error as SdkErrorShape).$retryable) return true;
  return false;
}
