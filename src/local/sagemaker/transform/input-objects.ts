/**
 * The input objects of a transform job and the output key of each, as the service writes them:
 * `S3Prefix` takes every object whose key starts with the URI's key, `ManifestFile` the objects a manifest
 * lists (`[{"prefix": "s3://bucket/p/"}, "relative/key", ...]`). Each output is
 * `<S3OutputPath>/<key relative to the input's folder>.out`, with no job-name folder.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { errorName, httpStatus } from '../../../aws/errors';

const gunzipAsync = promisify(gunzip);

/** The job's input cannot be found or read; the message is worded for `FailureReason`. */
export class TransformInputError extends Error {
  override readonly name = 'TransformInputError';
}

export interface InputObject {
  bucket: string;
  key: string;
  /** The key relative to the input folder (or as the manifest lists it); the output key adds `.out`. */
  relative: string;
}

/** Splits `s3://bucket[/key]` (the bucket alone is a valid transform URI, unlike model data). */
function parseS3Url(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new TransformInputError(`ClientError: ${JSON.stringify(uri)} is not an s3://<bucket>/<key> URI.`);
  return { bucket: match[1]!, key: match[2]! };
}

function missing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || httpStatus(error) === 404;
}

/** Everything under an `S3Prefix` URI, in key order. */
async function listPrefix(s3: S3Client, uri: string, signal: AbortSignal): Promise<InputObject[]> {
  const { bucket, key: prefix } = parseS3Url(uri);
  const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
  const objects: InputObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue;
        objects.push({ bucket, key: o.Key, relative: o.Key.slice(folder.length) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    if (missing(error)) throw new TransformInputError(`ClientError: No S3 objects found under S3 URL "${uri}" (${errorName(error)}).`);
    throw error;
  }
  if (objects.length === 0) throw new TransformInputError(`ClientError: No S3 objects found under S3 URL "${uri}". Please check that the input data exists.`);
  return objects;
}

/** The objects a manifest file lists. */
async function readManifest(s3: S3Client, uri: string, signal: AbortSignal): Promise<InputObject[]> {
  const text = (await readObject(s3, uri, 'None', signal)).toString('utf8');
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new TransformInputError(`ClientError: The manifest file "${uri}" is not valid JSON.`);
  }
  const rule = 'must be a JSON array whose first element is {"prefix": "s3://<bucket>/<prefix>"} and whose other elements are keys relative to it';
  if (!Array.isArray(manifest) || manifest.length < 2) throw new TransformInputError(`ClientError: The manifest file "${uri}" ${rule}.`);
  const head = manifest[0] as { prefix?: unknown };
  if (typeof head !== 'object' || head === null || typeof head.prefix !== 'string') throw new TransformInputError(`ClientError: The manifest file "${uri}" ${rule}.`);
  const { bucket, key: prefix } = parseS3Url(head.prefix);
  return manifest.slice(1).map((entry, i) => {
    if (typeof entry !== 'string' || entry === '') throw new TransformInputError(`ClientError: Entry ${i + 1} of the manifest file "${uri}" must be a non-empty key.`);
    return { bucket, key: `${prefix}${entry}`, relative: entry };
  });
}

/** The input objects of a job's `S3DataSource`. */
export async function listInputObjects(s3: S3Client, dataType: string, uri: string, signal: AbortSignal): Promise<InputObject[]> {
  if (dataType === 'ManifestFile') return readManifest(s3, uri, signal);
  if (dataType === 'AugmentedManifestFile') {
    throw new TransformInputError('ClientError: S3DataType AugmentedManifestFile is not supported by the local emulator; use S3Prefix or ManifestFile.');
  }
  return listPrefix(s3, uri, signal);
}

/** Reads one object whole, gunzipped when the job says `CompressionType: Gzip`. */
export async function readObject(s3: S3Client, uri: string, compression: string, signal: AbortSignal): Promise<Buffer> {
  const { bucket, key } = parseS3Url(uri);
  let bytes: Buffer;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    bytes = Buffer.from(await got.Body!.transformToByteArray());
  } catch (error) {
    if (missing(error)) throw new TransformInputError(`ClientError: The S3 object "${uri}" does not exist.`);
    throw error;
  }
  if (compression !== 'Gzip') return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new TransformInputError(`ClientError: The S3 object "${uri}" is not gzip data, but CompressionType is Gzip (${(error as Error).message}).`);
  }
}

/** `<S3OutputPath>/<relative>.out`, keeping the output path's own key prefix. */
export function outputLocation(outputPath: string, relative: string): { bucket: string; key: string } {
  const { bucket, key } = parseS3Url(outputPath);
  const base = key === '' || key.endsWith('/') ? key : `${key}/`;
  return { bucket, key: `${base}${relative}.out` };
}
