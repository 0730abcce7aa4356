/**
 * The AWS JSON 1.1 protocol of the SageMaker control plane: `POST /` with `X-Amz-Target: SageMaker.<Op>`
 * and a JSON body; success is 200 with a JSON body, failure carries the error code in `__type` and in the
 * `x-amzn-ErrorType` header (both SDK v3 and botocore read either).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SageMakerApiError } from './errors';

export const JSON_11 = 'application/x-amz-json-1.1';
export const TARGET_PREFIX = 'SageMaker.';

/** The operation named by the request, or `undefined` when it is not a SageMaker control-plane call. */
export function targetOperation(req: IncomingMessage): string | undefined {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value?.startsWith(TARGET_PREFIX) ? value.slice(TARGET_PREFIX.length) : undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': JSON_11,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

export function sendApiError(res: ServerResponse, error: SageMakerApiError): void {
  const text = JSON.stringify({ __type: error.code, message: error.message });
  res.writeHead(error.status, {
    'content-type': JSON_11,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': error.code,
  });
  res.end(text);
}
