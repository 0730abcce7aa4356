/**
 * The local S3's REST API (path-style, and virtual-host style under `*.localhost`), over the object store.
 * It serves what the project and the AWS tools use: buckets, objects with conditions and ranges, copies
 * with copy-source conditions, multipart uploads with `UploadPartCopy`, tagging, `DeleteObjects`,
 * listings v1/v2, bucket notification configuration, and `aws-chunked` streaming uploads. Every change
 * it makes is reported through `onEvent`, which is how notifications are generated.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { AwsChunkedDecoder, isAwsChunked, storedContentEncoding } from './aws-chunked';
import { checksumAlgorithmOf, type ChecksumAlgorithm } from './checksums';
import { evaluateReadConditions, parseRange, type ReadConditions } from './conditions';
import { compareKeys, type ObjectAttributes, type ObjectRecord, type ObjectStore, type WriteCondition } from './object-store';
import { invalidArgument, malformedXml, noSuchKey, notImplemented, S3ServiceError } from './s3-error';
import { parseXml, textOf, toXml } from './xml';

/** What a served request changed, for notifications. */
export interface S3ObjectEvent {
  /** `ObjectCreated:Put`, `ObjectRemoved:Delete`, `ObjectTagging:Put`, ... */
  eventName: string;
  bucket: string;
  key: string;
  size?: number;
  /** Without quotes, as events carry it. */
  eTag?: string;
  eventTime: Date;
  requestId: string;
  hostId: string;
  sourceIp: string;
  principalId: string;
}

/** Who sent a request, as the edge saw it. */
export interface S3RequestContext {
  requestId: string;
  hostId: string;
  accessKeyId: string;
  sourceIp: string;
}

export interface S3ApiOptions {
  store: ObjectStore;
  region: string;
  /** Called once per change, after it is committed and before the response is sent. */
  onEvent?: (event: S3ObjectEvent) => Promise<void> | void;
  /** Called when a client puts a bucket's notification configuration; throws to refuse it. */
  onNotificationConfiguration?: (bucket: string, xml: string) => Promise<void>;
}

export interface S3Api {
  handle(req: IncomingMessage, res: ServerResponse, context: S3RequestContext): Promise<void>;
}

const OWNER = { ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', DisplayName: 'local' };
const REPRESENTATION_HEADERS = ['cache-control', 'content-disposition', 'content-language', 'expires'];
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};
const MAX_KEY_BYTES = 1024;
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

/** Checks an object tag set as S3 does: at most 10 tags, key 1-128 and value 0-256 characters, no duplicates. */
export function validateTags(entries: Array<[string, string]>): Record<string, string> {
  const invalidTag = (message: string) => new S3ServiceError('InvalidTag', 400, message);
  if (entries.length > 10) throw invalidTag('Object tags cannot be greater than 10');
  const tags: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) throw invalidTag(`The TagKey "${key}" must be 1 to 128 characters long`);
    if (value.length > 256) throw invalidTag(`The TagValue for "${key}" must be at most 256 characters long`);
    if (!TAG_CHARS.test(key) || !TAG_CHARS.test(value)) throw invalidTag(`The tag "${key}" has characters S3 does not allow (letters, digits, spaces and _ . : / = + - @)`);
    if (key in tags) throw invalidTag(`Cannot provide multiple Tags with the same key "${key}"`);
    tags[key] = value;
  }
  return tags;
}

function tagsFromHeader(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  return validateTags([...new URLSearchParams(value).entries()]);
}

function attributesFromHeaders(req: IncomingMessage): ObjectAttributes {
  const headers: Record<string, string> = {};
  for (const name of REPRESENTATION_HEADERS) {
    const value = header(req, name);
    if (value !== undefined) headers[name] = value;
  }
  const encoding = storedContentEncoding(header(req, 'content-encoding'));
  if (encoding) headers['content-encoding'] = encoding;
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return {
    contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    headers,
    metadata,
    tags: tagsFromHeader(header(req, 'x-amz-tagging')),
  };
}

function writeCondition(req: IncomingMessage): WriteCondition | undefined {
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw notImplemented('If-None-Match on a write accepts only "*" (as on AWS)');
  }
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ...(ifMatch !== undefined ? { ifMatch } : {}), ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}) };
}

function readConditions(req: IncomingMessage, prefix: string): ReadConditions {
  const pick = (name: string) => header(req, `${prefix}${name}`);
  const conditions: ReadConditions = {};
  const ifMatch = pick('if-match');
  const ifNoneMatch = pick('if-none-match');
  const ifModifiedSince = pick('if-modified-since');
  const ifUnmodifiedSince = pick('if-unmodified-since');
  if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince !== undefined) conditions.ifModifiedSince = ifModifiedSince;
  if (ifUnmodifiedSince !== undefined) conditions.ifUnmodifiedSince = ifUnmodifiedSince;
  return conditions;
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new S3ServiceError('KeyTooLongError', 400, 'Your key is too long', { MaxSizeAllowed: String(MAX_KEY_BYTES), Size: String(Buffer.byteLength(key)) });
  }
}

/** Checks a bucket name against S3's rules for new buckets. */
export function validateBucketName(name: string): void {
  const ok = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!ok) {
    throw new S3ServiceError('InvalidBucketName', 400, 'The specified bucket is not valid: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit', { BucketName: name });
  }
}

function urlEncodeKey(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/');
}

interface ParsedRequest {
  bucket?: string;
  key?: string;
  query: URLSearchParams;
}

function parseRequest(req: IncomingMessage): ParsedRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const host = (header(req, 'host') ?? '').replace(/:\d+$/, '');
  const vhost = /^(.+)\.localhost$/.exec(host)?.[1];
  let rawPath = url.pathname;
  let bucket: string | undefined;
  if (vhost) {
    bucket = vhost;
  } else {
    const match = /^\/([^/]+)(\/.*)?$/.exec(rawPath);
    if (match) {
      bucket = decodeURIComponent(match[1]!);
      rawPath = match[2] ?? '';
    } else {
      rawPath = '';
    }
  }
  const keyPath = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  let key: string | undefined;
  try {
    key = keyPath === '' ? undefined : decodeURIComponent(keyPath);
  } catch {
    throw invalidArgument('key', keyPath, 'The object key is not valid percent-encoded UTF-8');
  }
  return { ...(bucket !== undefined ? { bucket } : {}), ...(key !== undefined ? { key } : {}), query: url.searchParams };
}

async function readBody(req: IncomingMessage, limit = 20 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const source: Readable = isAwsChunked(req.headers) ? req.pipe(new AwsChunkedDecoder()) : req;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new S3ServiceError('MaxMessageLengthExceeded', 400, 'Your request was too big.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Builds the local S3 API over `options.store`. */
export function createS3Api(options: S3ApiOptions): S3Api {
  const { store } = options;

  async function emit(context: S3RequestContext, eventName: string, bucket: string, key: string, record?: ObjectRecord): Promise<void> {
    if (!options.onEvent) return;
    await options.onEvent({
      eventName,
      bucket,
      key,
      ...(record ? { size: record.size, eTag: record.etag.replace(/"/g, '') } : {}),
      eventTime: new Date(),
      requestId: context.requestId,
      hostId: context.hostId,
      sourceIp: context.sourceIp,
      principalId: `AWS:${context.accessKeyId}`,
    });
  }

  function sendXml(res: ServerResponse, status: number, root: string, body: Record<string, unknown>, extra: Record<string, string> = {}): void {
    const xml = toXml(root, body);
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml), ...extra });
    res.end(xml);
  }

  function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
    res.writeHead(status, { 'Content-Length': 0, ...headers });
    res.end();
  }

  /** The request body, decoded, with its checksum verified: the one path every upload takes. */
  async function spoolUpload(req: IncomingMessage, limit: number) {
    const chunked = isAwsChunked(req.headers);
    const decodedLength = header(req, 'x-amz-decoded-content-length');
    const decoder = chunked ? new AwsChunkedDecoder(decodedLength !== undefined ? Number(decodedLength) : undefined) : undefined;
    let algorithm: ChecksumAlgorithm | undefined;
    let expected: string | undefined;
    for (const [name, value] of Object.entries(req.headers)) {
      const found = checksumAlgorithmOf(name);
      if (found && typeof value === 'string') {
        algorithm = found;
        expected = value;
      }
    }
    const trailer = header(req, 'x-amz-trailer');
    if (!algorithm && trailer) algorithm = checksumAlgorithmOf(trailer.trim());
    if (!algorithm) {
      const declared = header(req, 'x-amz-sdk-checksum-algorithm');
      if (declared) algorithm = checksumAlgorithmOf(`x-amz-checksum-${declared.toLowerCase()}`);
    }
    const spooled = await store.spool(decoder ? req.pipe(decoder) : req, algorithm, limit);
    if (decoder && trailer) expected = decoder.trailers[trailer.trim().toLowerCase()] ?? expected;
    const contentMd5 = header(req, 'content-md5');
    if (contentMd5 !== undefined && contentMd5 !== spooled.md5.toString('base64')) {
      await store.discard(spooled);
      throw new S3ServiceError('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: contentMd5 });
    }
    const computed = spooled.checksum?.value;
    if (algorithm && expected !== undefined && computed !== undefined && computed !== expected) {
      await store.discard(spooled);
      throw new S3ServiceError('BadDigest', 400, `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
    const checksum = algorithm && (computed ?? expected) ? { algorithm, value: (computed ?? expected)! } : undefined;
    return { spooled, checksum };
  }

  function copySource(req: IncomingMessage): { bucket: string; key: string } {
    const raw = header(req, 'x-amz-copy-source')!;
    const [pathPart, versionPart] = raw.split('?');
    if (versionPart && /(^|&)versionId=/.test(versionPart) && !/versionId=null(&|$)/.test(versionPart)) {
      throw notImplemented('x-amz-copy-source with a versionId (the local bucket is not versioned)');
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathPart!);
    } catch {
      throw invalidArgument('x-amz-copy-source', raw, 'Copy Source must be a percent-encoded "bucket/key"');
    }
    const trimmed = decoded.startsWith('/') ? decoded.slice(1) : decoded;
    const slash = trimmed.indexOf('/');
    if (slash <= 0 || slash === trimmed.length - 1) throw invalidArgument('x-amz-copy-source', raw, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
    return { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
  }

  function sourceRecord(req: IncomingMessage): { bucket: string; record: ObjectRecord } {
    const source = copySource(req);
    const record = store.head(source.bucket, source.key);
    if (!record) throw noSuchKey(source.key);
    const outcome = evaluateReadConditions(record, readConditions(req, 'x-amz-copy-source-'), 'x-amz-copy-source-');
    if (outcome.result !== 'ok') {
      throw new S3ServiceError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: outcome.condition });
    }
    return { bucket: source.bucket, record };
  }

  async function putObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, context: S3RequestContext): Promise<void> {
    checkKey(key);
    store.head(bucket, key);
    const attributes = attributesFromHeaders(req);
    const condition = writeCondition(req);
    const { spooled, checksum } = await spoolUpload(req, MAX_SINGLE_PUT);
    const etag = `"${spooled.md5.toString('hex')}"`;
    const { record } = await store.commit(bucket, key, { path: spooled.path, size: spooled.size, etag }, { ...attributes, ...(checksum ? { checksum } : {}) }, condition);
    await emit(context, 'ObjectCreated:Put', bucket, key, record);
    sendEmpty(res, 200, { ETag: record.etag, ...(checksum ? { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value } : {}) });
  }

  async function copyObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, context: S3RequestContext): Promise<void> {
    checkKey(key);
    store.head(bucket, key);
    const source = sourceRecord(req);
    const metadataDirective = (header(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    const taggingDirective = (header(req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
    if (metadataDirective !== 'COPY' && metadataDirective !== 'REPLACE') throw invalidArgument('x-amz-metadata-directive', metadataDirective, 'x-amz-metadata-directive must be COPY or REPLACE');
    if (taggingDirective !== 'COPY' && taggingDirective !== 'REPLACE') throw invalidArgument('x-amz-tagging-directive', taggingDirective, 'x-amz-tagging-directive must be COPY or REPLACE');
    if (source.bucket === bucket && source.record.key === key && metadataDirective === 'COPY') {
      throw new S3ServiceError('InvalidRequest', 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
    }
    const requested = attributesFromHeaders(req);
    const attributes: ObjectAttributes = {
      ...(metadataDirective === 'REPLACE'
        ? { contentType: requested.contentType, headers: requested.headers, metadata: requested.metadata }
        : { contentType: source.record.contentType, headers: source.record.headers, metadata: source.record.metadata }),
      tags: taggingDirective === 'REPLACE' ? requested.tags ?? {} : source.record.tags,
    };
    const condition = writeCondition(req);
    const spooled = await store.spool(store.read(source.bucket, source.record));
    const etag = `"${spooled.md5.toString('hex')}"`;
    const { record } = await store.commit(bucket, key, { path: spooled.path, size: spooled.size, etag }, attributes, condition);
    await emit(context, 'ObjectCreated:Copy', bucket, key, record);
    sendXml(res, 200, 'CopyObjectResult', { LastModified: record.lastModified, ETag: record.etag });
  }

  async function getObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams): Promise<void> {
    const record = store.head(bucket, key);
    if (!record) throw noSuchKey(key);
    const outcome = evaluateReadConditions(record, readConditions(req, ''));
    if (outcome.result === 'not-modified') {
      sendEmpty(res, 304, { ETag: record.etag, 'Last-Modified': httpDate(record.lastModified) });
      return;
    }
    if (outcome.result === 'failed') throw new S3ServiceError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: outcome.condition });
    const headers: Record<string, string | number> = {
      'Content-Type': record.contentType,
      ETag: record.etag,
      'Last-Modified': httpDate(record.lastModified),
      'Accept-Ranges': 'bytes',
    };
    for (const [name, value] of Object.entries(record.headers)) headers[name] = value;
    for (const [name, value] of Object.entries(record.metadata)) headers[`x-amz-meta-${name}`] = value;
    const tagCount = Object.keys(record.tags).length;
    if (tagCount > 0) headers['x-amz-tagging-count'] = tagCount;
    if (record.partsCount && query.has('partNumber')) headers['x-amz-mp-parts-count'] = record.partsCount;
    if (record.checksum && (header(req, 'x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED') {
      headers[`x-amz-checksum-${record.checksum.algorithm}`] = record.checksum.value;
    }
    for (const [parameter, name] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = query.get(parameter);
      if (value !== null) headers[name] = value;
    }
    const rangeHeader = header(req, 'range');
    const range = rangeHeader !== undefined ? parseRange(rangeHeader, record.size) : 'invalid';
    if (range === undefined) {
      throw new S3ServiceError('InvalidRange', 416, 'The requested range is not satisfiable', { RangeRequested: rangeHeader ?? '', ActualObjectSize: String(record.size) });
    }
    const partial = range !== 'invalid';
    if (partial) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${record.size}`;
      // A checksum covers the whole object, so a partial read must not carry it.
      for (const name of Object.keys(headers)) if (name.startsWith('x-amz-checksum-')) delete headers[name];
    }
    headers['Content-Length'] = partial ? range.end - range.start + 1 : record.size;
    res.writeHead(partial ? 206 : 200, headers);
    if (req.method === 'HEAD' || record.size === 0) {
      res.end();
      return;
    }
    const stream = store.read(bucket, record, partial ? range : undefined);
    await new Promise<void>((resolve) => {
      stream.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  }

  async function deleteObject(res: ServerResponse, bucket: string, key: string, context: S3RequestContext): Promise<void> {
    const removed = await store.delete(bucket, key);
    if (removed) await emit(context, 'ObjectRemoved:Delete', bucket, key);
    sendEmpty(res, 204);
  }

  async function deleteObjects(req: IncomingMessage, res: ServerResponse, bucket: string, context: S3RequestContext): Promise<void> {
    store.sortedKeys(bucket);
    const document = parseXml((await readBody(req)).toString('utf8'), 'Delete');
    const objects = (document.Object as Array<Record<string, unknown>> | undefined) ?? [];
    if (objects.length === 0) throw malformedXml('Delete must list at least one Object');
    if (objects.length > 1000) throw malformedXml('Delete may list at most 1000 objects');
    const quiet = textOf(document.Quiet)?.trim() === 'true';
    const deleted: Array<Record<string, string>> = [];
    const errors: Array<Record<string, string>> = [];
    for (const object of objects) {
      const key = textOf(object.Key);
      if (key === undefined || key === '') {
        errors.push({ Key: '', Code: 'InvalidArgument', Message: 'Each Object must have a Key' });
        continue;
      }
      const removed = await store.delete(bucket, key);
      if (removed) await emit(context, 'ObjectRemoved:Delete', bucket, key);
      deleted.push({ Key: key });
    }
    sendXml(res, 200, 'DeleteResult', { ...(quiet ? {} : { Deleted: deleted }), ...(errors.length ? { Error: errors } : {}) });
  }

  function listObjects(res: ServerResponse, bucket: string, query: URLSearchParams): void {
    const v2 = query.get('list-type') === '2';
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeysText = query.get('max-keys') ?? '1000';
    const maxKeys = Number(maxKeysText);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) throw invalidArgument('max-keys', maxKeysText, 'max-keys must be an integer from 0 to 2147483647');
    const encodingType = query.get('encoding-type');
    if (encodingType !== null && encodingType !== 'url') throw invalidArgument('encoding-type', encodingType, 'Invalid Encoding Method specified in Request (only "url")');
    const encode = (value: string) => (encodingType === 'url' ? urlEncodeKey(value) : value);
    let after = '';
    let afterIsPrefix = false;
    const continuationToken = query.get('continuation-token');
    if (v2 && continuationToken !== null) {
      try {
        const token = JSON.parse(Buffer.from(continuationToken, 'base64').toString('utf8')) as { k: string; p: boolean };
        after = token.k;
        afterIsPrefix = token.p;
      } catch {
        throw invalidArgument('continuation-token', continuationToken, 'The continuation token provided is incorrect');
      }
    } else {
      after = (v2 ? query.get('start-after') : query.get('marker')) ?? '';
    }
    const keys = store.sortedKeys(bucket);
    // Binary search for the first key after `after`.
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(keys[middle]!, after) <= 0) low = middle + 1;
      else high = middle;
    }
    const contents: Array<Record<string, unknown>> = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let last: { k: string; p: boolean } | undefined;
    for (let index = low; index < keys.length; index += 1) {
      const key = keys[index]!;
      if (afterIsPrefix && key.startsWith(after)) continue;
      if (!key.startsWith(prefix)) {
        if (compareKeys(key, prefix) > 0) break;
        continue;
      }
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const commonPrefix = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (commonPrefix !== undefined && commonPrefixes[commonPrefixes.length - 1] === commonPrefix) continue;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (commonPrefix !== undefined) {
        commonPrefixes.push(commonPrefix);
        last = { k: commonPrefix, p: true };
      } else {
        const record = store.head(bucket, key)!;
        contents.push({
          Key: encode(key),
          LastModified: record.lastModified,
          ETag: record.etag,
          Size: record.size,
          StorageClass: 'STANDARD',
          ...(v2 && query.get('fetch-owner') !== 'true' ? {} : { Owner: OWNER }),
        });
        last = { k: key, p: false };
      }
    }
    const body: Record<string, unknown> = {
      Name: bucket,
      Prefix: encode(prefix),
      ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
      MaxKeys: maxKeys,
      ...(encodingType ? { EncodingType: encodingType } : {}),
      IsTruncated: truncated,
    };
    if (v2) {
      body.KeyCount = contents.length + commonPrefixes.length;
      if (continuationToken !== null) body.ContinuationToken = continuationToken;
      if (query.get('start-after') !== null) body.StartAfter = encode(query.get('start-after')!);
      if (truncated && last) body.NextContinuationToken = Buffer.from(JSON.stringify(last)).toString('base64');
    } else {
      body.Marker = encode(query.get('marker') ?? '');
      if (truncated && last && delimiter) body.NextMarker = encode(last.k);
    }
    body.Contents = contents;
    body.CommonPrefixes = commonPrefixes.map((value) => ({ Prefix: encode(value) }));
    sendXml(res, 200, 'ListBucketResult', body);
  }

  async function putTagging(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, context: S3RequestContext): Promise<void> {
    const document = parseXml((await readBody(req)).toString('utf8'), 'Tagging');
    const tagSet = (document.TagSet ?? {}) as Record<string, unknown>;
    const entries = ((tagSet.Tag as Array<Record<string, unknown>> | undefined) ?? []).map(
      (tag): [string, string] => [textOf(tag.Key) ?? '', textOf(tag.Value) ?? ''],
    );
    const record = await store.setTags(bucket, key, validateTags(entries));
    await emit(context, 'ObjectTagging:Put', bucket, key, record);
    sendEmpty(res, 200);
  }

  function getTagging(res: ServerResponse, bucket: string, key: string): void {
    const record = store.head(bucket, key);
    if (!record) throw noSuchKey(key);
    sendXml(res, 200, 'Tagging', { TagSet: { Tag: Object.entries(record.tags).map(([Key, Value]) => ({ Key, Value })) } });
  }

  async function deleteTagging(res: ServerResponse, bucket: string, key: string, context: S3RequestContext): Promise<void> {
    const record = await store.setTags(bucket, key, {});
    await emit(context, 'ObjectTagging:Delete', bucket, key, record);
    sendEmpty(res, 204);
  }

  function partNumberOf(query: URLSearchParams): number {
    const text = query.get('partNumber') ?? '';
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > 10000) throw invalidArgument('partNumber', text, 'Part number must be an integer between 1 and 10000, inclusive');
    return value;
  }

  async function uploadPart(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams): Promise<void> {
    const upload = store.upload(bucket, key, query.get('uploadId')!);
    const partNumber = partNumberOf(query);
    if (header(req, 'x-amz-copy-source') !== undefined) {
      const source = sourceRecord(req);
      const rangeHeader = header(req, 'x-amz-copy-source-range');
      let range: { start: number; end: number } | undefined;
      if (rangeHeader !== undefined) {
        const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
        if (!match || Number(match[1]) > Number(match[2]) || Number(match[2]) >= source.record.size) {
          throw new S3ServiceError('InvalidArgument', 400, `The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, within the ${source.record.size}-byte source`, {
            ArgumentName: 'x-amz-copy-source-range',
            ArgumentValue: rangeHeader,
          });
        }
        range = { start: Number(match[1]), end: Number(match[2]) };
      }
      const spooled = await store.spool(store.read(source.bucket, source.record, range));
      const part = await store.putPart(upload, partNumber, spooled);
      sendXml(res, 200, 'CopyPartResult', { LastModified: part.lastModified, ETag: part.etag });
      return;
    }
    const { spooled, checksum } = await spoolUpload(req, MAX_SINGLE_PUT);
    const part = await store.putPart(upload, partNumber, spooled);
    sendEmpty(res, 200, { ETag: part.etag, ...(checksum ? { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value } : {}) });
  }

  async function completeUpload(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams, context: S3RequestContext): Promise<void> {
    const upload = store.upload(bucket, key, query.get('uploadId')!);
    const condition = writeCondition(req);
    const document = parseXml((await readBody(req)).toString('utf8'), 'CompleteMultipartUpload');
    const parts = ((document.Part as Array<Record<string, unknown>> | undefined) ?? []).map((part) => {
      const numberText = textOf(part.PartNumber)?.trim() ?? '';
      const partNumber = Number(numberText);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw malformedXml(`PartNumber "${numberText}" is not an integer from 1 to 10000`);
      return { partNumber, etag: textOf(part.ETag)?.trim() ?? '' };
    });
    const { record } = await store.completeUpload(upload, parts, condition);
    await emit(context, 'ObjectCreated:CompleteMultipartUpload', bucket, key, record);
    sendXml(res, 200, 'CompleteMultipartUploadResult', {
      Location: `http://${header(req, 'host') ?? 'localhost'}/${bucket}/${urlEncodeKey(key)}`,
      Bucket: bucket,
      Key: key,
      ETag: record.etag,
    });
  }

  function listParts(res: ServerResponse, bucket: string, key: string, query: URLSearchParams): void {
    const upload = store.upload(bucket, key, query.get('uploadId')!);
    const marker = Number(query.get('part-number-marker') ?? '0');
    const maxParts = Number(query.get('max-parts') ?? '1000');
    const all = Object.values(upload.parts).sort((a, b) => a.partNumber - b.partNumber).filter((part) => part.partNumber > marker);
    const page = all.slice(0, maxParts);
    sendXml(res, 200, 'ListPartsResult', {
      Bucket: bucket,
      Key: key,
      UploadId: upload.uploadId,
      PartNumberMarker: marker,
      ...(all.length > page.length ? { NextPartNumberMarker: page[page.length - 1]?.partNumber ?? marker } : {}),
      MaxParts: maxParts,
      IsTruncated: all.length > page.length,
      Part: page.map((part) => ({ PartNumber: part.partNumber, LastModified: part.lastModified, ETag: part.etag, Size: part.size })),
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: 'STANDARD',
    });
  }

  function listUploads(res: ServerResponse, bucket: string, query: URLSearchParams): void {
    const prefix = query.get('prefix') ?? '';
    const maxUploads = Number(query.get('max-uploads') ?? '1000');
    const uploads = store.listUploads(bucket).filter((upload) => upload.key.startsWith(prefix));
    const page = uploads.slice(0, maxUploads);
    sendXml(res, 200, 'ListMultipartUploadsResult', {
      Bucket: bucket,
      KeyMarker: '',
      UploadIdMarker: '',
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: uploads.length > page.length,
      Upload: page.map((upload) => ({ Key: upload.key, UploadId: upload.uploadId, Initiator: OWNER, Owner: OWNER, StorageClass: 'STANDARD', Initiated: upload.initiated })),
    });
  }

  async function postObject(req: IncomingMessage, res: ServerResponse, bucket: string, context: S3RequestContext): Promise<void> {
    const contentType = header(req, 'content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
      throw invalidArgument('Content-Type', contentType, 'Bucket POST must be of the enclosure-type multipart/form-data');
    }
    const body = await readBody(req, MAX_SINGLE_PUT);
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
    const keyTemplate = form.get('key');
    const file = form.get('file');
    if (typeof keyTemplate !== 'string' || keyTemplate === '') throw invalidArgument('key', '', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.");
    if (file === null || typeof file === 'string') throw invalidArgument('file', '', 'POST requires exactly one file upload per request.');
    const key = keyTemplate.replace(/\$\{filename\}/g, file.name ?? '');
    checkKey(key);
    const attributes: ObjectAttributes = { contentType: (form.get('Content-Type') as string | null) ?? (file.type || 'binary/octet-stream'), headers: {}, metadata: {}, tags: {} };
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string' && name.toLowerCase().startsWith('x-amz-meta-')) attributes.metadata![name.toLowerCase().slice('x-amz-meta-'.length)] = value;
    }
    const tagging = form.get('tagging');
    if (typeof tagging === 'string') {
      const document = parseXml(tagging, 'Tagging');
      const tagSet = (document.TagSet ?? {}) as Record<string, unknown>;
      attributes.tags = validateTags(((tagSet.Tag as Array<Record<string, unknown>> | undefined) ?? []).map((tag): [string, string] => [textOf(tag.Key) ?? '', textOf(tag.Value) ?? '']));
    }
    const spooled = await store.spool(Readable.from(Buffer.from(await file.arrayBuffer())));
    const { record } = await store.commit(bucket, key, { path: spooled.path, size: spooled.size, etag: `"${spooled.md5.toString('hex')}"` }, attributes);
    await emit(context, 'ObjectCreated:Post', bucket, key, record);
    const status = Number(form.get('success_action_status') ?? '204');
    const location = `http://${header(req, 'host') ?? 'localhost'}/${bucket}/${urlEncodeKey(key)}`;
    if (status === 201) {
      sendXml(res, 201, 'PostResponse', { Location: location, Bucket: bucket, Key: key, ETag: record.etag }, { ETag: record.etag, Location: location });
    } else {
      sendEmpty(res, status === 200 ? 200 : 204, { ETag: record.etag, Location: location });
    }
  }

  async function handleBucket(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams, context: S3RequestContext): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'PUT' && [...query.keys()].length === 0) {
      validateBucketName(bucket);
      await readBody(req);
      await store.createBucket(bucket);
      sendEmpty(res, 200, { Location: `/${bucket}` });
      return;
    }
    const record = store.bucket(bucket);
    if (!record) {
      throw new S3ServiceError('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });
    }
    if (query.has('notification')) {
      if (method === 'GET') {
        const xml = record.notificationXml ?? toXml('NotificationConfiguration', {});
        res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
        res.end(xml);
        return;
      }
      if (method === 'PUT') {
        const xml = (await readBody(req)).toString('utf8');
        parseXml(xml, 'NotificationConfiguration');
        if (options.onNotificationConfiguration) await options.onNotificationConfiguration(bucket, xml);
        else await store.setNotificationXml(bucket, xml);
        sendEmpty(res, 200);
        return;
      }
    }
    switch (method) {
      case 'HEAD':
        sendEmpty(res, 200, { 'x-amz-bucket-region': options.region });
        return;
      case 'DELETE':
        if ([...query.keys()].length > 0) throw notImplemented(`DELETE ?${[...query.keys()].join('&')} on a bucket`);
        await store.deleteBucket(bucket);
        sendEmpty(res, 204);
        return;
      case 'POST':
        if (query.has('delete')) return deleteObjects(req, res, bucket, context);
        return postObject(req, res, bucket, context);
      case 'GET':
        if (query.has('location')) {
          sendXml(res, 200, 'LocationConstraint', options.region === 'us-east-1' ? {} : { '#text': options.region });
          return;
        }
        if (query.has('versioning')) {
          sendXml(res, 200, 'VersioningConfiguration', {});
          return;
        }
        if (query.has('uploads')) return listUploads(res, bucket, query);
        {
          const unsupported = [...query.keys()].filter((name) => !['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'marker', 'encoding-type', 'fetch-owner', 'x-id'].includes(name));
          if (unsupported.length > 0) throw notImplemented(`GET ?${unsupported.join('&')} on a bucket`);
        }
        listObjects(res, bucket, query);
        return;
      default:
        throw new S3ServiceError('MethodNotAllowed', 405, `The specified method ${method} is not allowed against this resource.`);
    }
  }

  async function handleObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams, context: S3RequestContext): Promise<void> {
    const method = req.method ?? 'GET';
    if (!store.bucket(bucket)) throw new S3ServiceError('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });
    if (query.has('tagging')) {
      if (method === 'PUT') return putTagging(req, res, bucket, key, context);
      if (method === 'GET') return getTagging(res, bucket, key);
      if (method === 'DELETE') return deleteTagging(res, bucket, key, context);
    }
    switch (method) {
      case 'PUT':
        if (query.has('uploadId')) return uploadPart(req, res, bucket, key, query);
        if (header(req, 'x-amz-copy-source') !== undefined) return copyObject(req, res, bucket, key, context);
        {
          const unsupported = [...query.keys()].filter((name) => name !== 'x-id');
          if (unsupported.length > 0) throw notImplemented(`PUT ?${unsupported.join('&')} on an object`);
        }
        return putObject(req, res, bucket, key, context);
      case 'POST':
        if (query.has('uploads')) {
          checkKey(key);
          const attributes = attributesFromHeaders(req);
          await readBody(req);
          const upload = await store.createUpload(bucket, key, attributes);
          const algorithm = header(req, 'x-amz-checksum-algorithm');
          sendXml(res, 200, 'InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: upload.uploadId }, algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {});
          return;
        }
        if (query.has('uploadId')) return completeUpload(req, res, bucket, key, query, context);
        throw notImplemented(`POST ?${[...query.keys()].join('&')} on an object`);
      case 'DELETE':
        if (query.has('uploadId')) {
          await store.abortUpload(store.upload(bucket, key, query.get('uploadId')!));
          sendEmpty(res, 204);
          return;
        }
        if (query.has('versionId') && query.get('versionId') !== 'null') throw notImplemented('versionId on DELETE (the local bucket is not versioned)');
        return deleteObject(res, bucket, key, context);
      case 'GET':
      case 'HEAD':
        if (query.has('uploadId')) return listParts(res, bucket, key, query);
        for (const name of ['acl', 'attributes', 'legal-hold', 'retention', 'torrent', 'restore']) if (query.has(name)) throw notImplemented(`GET ?${name} on an object`);
        if (query.has('versionId') && query.get('versionId') !== 'null') throw notImplemented('versionId on GET (the local bucket is not versioned)');
        return getObject(req, res, bucket, key, query);
      default:
        throw new S3ServiceError('MethodNotAllowed', 405, `The specified method ${method} is not allowed against this resource.`);
    }
  }

  return {
    async handle(req, res, context) {
      res.setHeader('x-amz-request-id', context.requestId);
      res.setHeader('x-amz-id-2', context.hostId);
      res.setHeader('Server', 'AmazonS3');
      try {
        const { bucket, key, query } = parseRequest(req);
        if (bucket === undefined) {
          if (req.method !== 'GET') throw new S3ServiceError('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
          sendXml(res, 200, 'ListAllMyBucketsResult', {
            Owner: OWNER,
            Buckets: { Bucket: store.listBuckets().map((record) => ({ Name: record.name, CreationDate: record.created })) },
          });
          return;
        }
        if (key === undefined) await handleBucket(req, res, bucket, query, context);
        else await handleObject(req, res, bucket, key, query, context);
      } catch (error) {
        sendS3Error(req, res, error, context.requestId, context.hostId);
      }
    },
  };
}

/** Writes `error` as S3's XML error document (headers only for HEAD). */
export function sendS3Error(req: IncomingMessage, res: ServerResponse, error: unknown, requestId: string, hostId: string): void {
  const s3Error = error instanceof S3ServiceError ? error : new S3ServiceError('InternalError', 500, `We encountered an internal error: ${(error as Error)?.message ?? String(error)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Unread upload bytes would otherwise be taken for the next request on a kept-alive connection.
  if (!req.readableEnded) req.resume();
  const body = toXml('Error', { Code: s3Error.code, Message: s3Error.message, ...s3Error.fields, RequestId: requestId, HostId: hostId }).replace(
    ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"',
    '',
  );
  if (req.method === 'HEAD') {
    res.writeHead(s3Error.status, { 'x-amz-error-code': s3Error.code, 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeHead(s3Error.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A request id in S3's format. */
export function s3RequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** An `x-amz-id-2` host id in S3's format. */
export function s3HostId(): string {
  return randomBytes(48).toString('base64');
}
