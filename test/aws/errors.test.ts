import { describe, expect, it } from 'vitest';
import { errorName, httpStatus, isTransientError } from '../../src/aws/errors';

describe('Function: isTransientError', () => {
  it('treats throttling and 5xx as transient', () => {
    expect(isTransientError({ name: 'ThrottlingException' })).toBe(true);
    expect(isTransientError({ name: 'Whatever', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransientError({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } })).toBe(true);
  });

  it('treats client errors as permanent', () => {
    expect(isTransientError({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } })).toBe(false);
    expect(isTransientError({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
  });

  it('reads names and statuses defensively', () => {
    expect(errorName(undefined)).toBeUndefined();
    expect(errorName({ Code: 'AccessDenied' })).toBe('AccessDenied');
    expect(httpStatus({ $metadata: { httpStatusCode: 412 } })).toBe(412);
  });
});
