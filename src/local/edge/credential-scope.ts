/**
 * Which service a request is for, read the way AWS itself scopes a request: the SigV4 credential scope
 * (`Credential=<key>/<date>/<region>/<service>/aws4_request`) of the Authorization header or of a presigned
 * URL's `X-Amz-Credential`. Unsigned requests (`--no-sign-request`) fall back on the protocol's own marks.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What the scope is read from: a Node request, or a request head read off a socket (`url` its target). */
export interface ScopedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders | Record<string, string>;
}

export interface RequestScope {
  /** The signing name: `s3`, `dynamodb`, `sqs`, `sts`, `sagemaker`, `states`, ... */
  service: string;
  accessKeyId: string;
  region?: string;
  /** How the service was found, for error messages. */
  source: 'authorization' | 'presigned' | 'sigv2' | 'protocol';
}

const SCOPE = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/;

/** Reads the scope of `req`; an unsigned request is taken by its protocol marks, and is S3 otherwise. */
export function requestScope(req: ScopedRequest): RequestScope {
  const authorization = String(req.headers.authorization ?? '');
  const signed = SCOPE.exec(authorization);
  if (signed) return { accessKeyId: signed[1]!, region: signed[3]!, service: signed[4]!, source: 'authorization' };
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const credential = query.get('X-Amz-Credential');
  if (credential) {
    const [accessKeyId, , region, service] = credential.split('/');
    if (accessKeyId && region && service) return { accessKeyId, region, service, source: 'presigned' };
  }
  const v2 = /^AWS ([^:]+):/.exec(authorization);
  if (v2 || query.has('AWSAccessKeyId')) return { accessKeyId: v2?.[1] ?? query.get('AWSAccessKeyId')!, service: 's3', source: 'sigv2' };
  const target = String(req.headers['x-amz-target'] ?? '');
  const byTarget: Array<[string, string]> = [
    ['DynamoDB_', 'dynamodb'],
    ['AmazonSQS.', 'sqs'],
    ['SageMaker.', 'sagemaker'],
    ['AWSStepFunctions.', 'states'],
    ['AWSSecurityTokenServiceV20110615.', 'sts'],
  ];
  for (const [prefix, service] of byTarget) if (target.startsWith(prefix)) return { accessKeyId: 'anonymous', service, source: 'protocol' };
  if (req.method === 'POST' && /^\/endpoints\/[^/]+\/invocations/.test(new URL(req.url ?? '/', 'http://localhost').pathname)) {
    return { accessKeyId: 'anonymous', service: 'sagemaker', source: 'protocol' };
  }
  return { accessKeyId: 'anonymous', service: 's3', source: 'protocol' };
}
