/**
 * Reads the emulator's local listing of a multi-model endpoint (`GET /_smhost/endpoints/<name>/models`)
 * from anywhere a SageMaker client can reach it: the emulator's own port, or the local stack's edge, which
 * routes by the SigV4 credential scope, so the request is signed for the `sagemaker` service.
 */
import { createHash, createHmac } from 'node:crypto';
import type { EndpointModelsListing } from '../emulator';

export interface ListingRequestOptions {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The listing could not be read; `status` is the HTTP status when the server answered. */
export class EndpointListingError extends Error {
  override readonly name = 'EndpointListingError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

/** SigV4 headers for a body-less GET, so the edge sends the request to SageMaker. */
export function signedGetHeaders(url: URL, region: string, credentials: { accessKeyId: string; secretAccessKey: string }, now = new Date()): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const emptyHash = createHash('sha256').update('').digest('hex');
  const canonical = ['GET', url.pathname, url.searchParams.toString(), `host:${url.host}`, `x-amz-content-sha256:${emptyHash}`, `x-amz-date:${amzDate}`, '', 'host;x-amz-content-sha256;x-amz-date', emptyHash].join('\n');
  const scope = `${date}/${region}/sagemaker/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), 'sagemaker'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    'x-amz-date': amzDate,
    'x-amz-content-sha256': emptyHash,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`,
  };
}

/**
 * Fetches the listing of `endpointName` from `baseUrl` (the emulator or the local stack's edge).
 *
 * @throws {EndpointListingError} when the endpoint is not in service there, or the server cannot be reached.
 */
export async function fetchEndpointModels(baseUrl: string, endpointName: string, options: ListingRequestOptions = {}): Promise<EndpointModelsListing> {
  const url = new URL(`/_smhost/endpoints/${encodeURIComponent(endpointName)}/models`, baseUrl);
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const credentials = options.credentials ?? {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  };
  let res: Response;
  try {
    res = await fetch(url, { headers: signedGetHeaders(url, region, credentials) });
  } catch (error) {
    throw new EndpointListingError(`Cannot reach ${url.origin}: ${(error as Error).message}`);
  }
  const text = await res.text();
  if (res.status !== 200) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // A non-JSON answer (another service behind the edge) is shown as it came.
    }
    throw new EndpointListingError(`Listing of endpoint ${endpointName} failed (${res.status}): ${message}`, res.status);
  }
  return JSON.parse(text) as EndpointModelsListing;
}
