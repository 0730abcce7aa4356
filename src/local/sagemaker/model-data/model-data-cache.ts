/**
 * Model data fetched from S3 and extracted safely, cached on disk by URL and ETag so that endpoints, updates
 * and (for multi-model endpoints) target models sharing an artifact download and extract it once. A changed
 * object (new ETag) is a new cache entry, as a new deployment in SageMaker downloads afresh.
 *
 * The cache is bounded: every `fetch` pins its entry until `release`, and once the extracted bytes pass
 * `maxBytes` the least recently used unpinned entries are deleted. Pinned entries are never deleted, so the
 * bound can be passed while that many bytes are in use. `discard` is the multi-model unload: release and
 * delete at once (unless someone else still pins it).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { errorName, httpStatus } from '../../../aws/errors';
import { ArchiveRejectedError, extractArchive } from '../../../artifacts';

/** Model data could not be fetched or extracted; `reason` is worded for a `FailureReason` or a `ModelError`. */
export class ModelDataError extends Error {
  override readonly name = 'ModelDataError';
  constructor(
    readonly reason: string,
    /** `missing` (no object), `corrupt` (rejected archive), `invalid-url`, `timeout` or `unavailable`. */
    readonly kind: 'missing' | 'corrupt' | 'invalid-url' | 'timeout' | 'unavailable',
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** Where a container's model data lives in S3 and how it is stored. */
export interface ModelDataLocation {
  url: string;
  /** `Gzip` (a `model.tar.gz`, the `ModelDataUrl` form) or `None` (files under a prefix, uncompressed). */
  compression: 'Gzip' | 'None';
}

export interface FetchOptions {
  /** Who the data is for, named in failure reasons (`container "c1"`). */
  owner: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!match || match[1] === '') {
    throw new ModelDataError(`Model data URL ${JSON.stringify(url)} is not an s3://<bucket>/<key> URL.`, 'invalid-url');
  }
  return { bucket: match[1]!, key: match[2]! };
}

function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || httpStatus(error) === 404;
}

/** Environment variable bounding the model-data cache, in MiB (default 20480, 20 GiB). */
export const MODEL_DATA_CACHE_ENV = 'SMHOST_MODEL_DATA_CACHE_MB';
const DEFAULT_MAX_BYTES = 20 * 1024 ** 3;

/** The disk bound of the cache from `SMHOST_MODEL_DATA_CACHE_MB`, or the default; a bad value is an error. */
export function modelDataCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[MODEL_DATA_CACHE_ENV];
  if (text === undefined || text === '') return DEFAULT_MAX_BYTES;
  const mib = Number(text);
  if (!Number.isFinite(mib) || mib <= 0) throw new Error(`${MODEL_DATA_CACHE_ENV} must be a number of MiB greater than 0; got ${JSON.stringify(text)}`);
  return Math.round(mib * 1024 ** 2);
}

interface CacheEntry {
  bytes: number;
  lastUsed: number;
  pins: number;
}

/** What the cache holds now, for the local listing. */
export interface ModelDataCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  evictions: number;
}

export class ModelDataCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly entries = new Map<string, CacheEntry>();
  private scanned: Promise<void> | undefined;
  private evictions = 0;
  private clock = 0;

  constructor(
    private readonly s3: S3Client,
    /** Cache folder; entries are `<sha256 of url and etag>/`. */
    readonly root: string,
    /** Extracted bytes kept on disk before unpinned entries are evicted. */
    readonly maxBytes: number = modelDataCacheBytes(),
  ) {}

  /** Entries left by an earlier run count against the bound (oldest first), and half-written ones go. */
  private scan(): Promise<void> {
    this.scanned ??= (async () => {
      let names: string[];
      try {
        names = await readdir(this.root);
      } catch {
        return;
      }
      for (const name of names) {
        const dir = join(this.root, name);
        if (name.startsWith('.tmp-')) await rm(dir, { recursive: true, force: true });
        else if (name !== 'empty' && !this.entries.has(dir)) this.entries.set(dir, { bytes: await folderBytes(dir), lastUsed: 0, pins: 0 });
      }
    })();
    return this.scanned;
  }

  private pin(dir: string, bytes?: number): string {
    const entry = this.entries.get(dir);
    if (entry) {
      entry.pins += 1;
      entry.lastUsed = ++this.clock;
    } else {
      this.entries.set(dir, { bytes: bytes ?? 0, lastUsed: ++this.clock, pins: 1 });
    }
    return dir;
  }

  /** Gives back a folder `fetch` returned; it stays cached until the disk bound needs its space. */
  release(dir: string): void {
    const entry = this.entries.get(dir);
    if (entry && entry.pins > 0) entry.pins -= 1;
  }

  /** Releases `dir` and deletes it now unless another user still pins it (a multi-model unload). */
  async discard(dir: string): Promise<void> {
    this.release(dir);
    const entry = this.entries.get(dir);
    if (!entry || entry.pins > 0) return;
    this.entries.delete(dir);
    this.evictions += 1;
    await rm(dir, { recursive: true, force: true });
  }

  /** Deletes least recently used unpinned entries while the cache is over its bound. */
  private async enforceBound(): Promise<void> {
    let total = [...this.entries.values()].reduce((sum, e) => sum + e.bytes, 0);
    if (total <= this.maxBytes) return;
    const idle = [...this.entries.entries()].filter(([, e]) => e.pins === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [dir, entry] of idle) {
      if (total <= this.maxBytes) break;
      this.entries.delete(dir);
      this.evictions += 1;
      total -= entry.bytes;
      await rm(dir, { recursive: true, force: true });
    }
  }

  stats(): ModelDataCacheStats {
    const values = [...this.entries.values()];
    return { entries: values.length, bytes: values.reduce((sum, e) => sum + e.bytes, 0), maxBytes: this.maxBytes, evictions: this.evictions };
  }

  /** An empty model directory for containers without model data. */
  async emptyDir(): Promise<string> {
    const dir = join(this.root, 'empty');
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Fetches and extracts `location` (once per URL and ETag, even when asked concurrently) and returns the
   * folder holding its files, pinned until `release` (or `discard`).
   *
   * @throws {ModelDataError} for a missing object, a rejected archive, a bad URL or a timeout.
   */
  async fetch(location: ModelDataLocation, options: FetchOptions): Promise<string> {
    await this.scan();
    const dir = await this.fetchUnpinned(location, options);
    const known = this.entries.has(dir);
    this.pin(dir, known ? undefined : await folderBytes(dir));
    if (!known) await this.enforceBound();
    // An eviction may have raced between finding the folder and pinning it; then fetch it again.
    if (!(await exists(dir))) {
      this.entries.delete(dir);
      return this.fetch(location, options);
    }
    return dir;
  }

  private async fetchUnpinned(location: ModelDataLocation, options: FetchOptions): Promise<string> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs);
    const abortOuter = () => controller.abort();
    options.signal?.addEventListener('abort', abortOuter);
    try {
      return location.compression === 'Gzip'
        ? await this.fetchArchive(location.url, options.owner, controller.signal)
        : await this.fetchPrefix(location.url, options.owner, controller.signal);
    } catch (error) {
      if (error instanceof ModelDataError) throw error;
      if (controller.signal.aborted) {
        throw new ModelDataError(
          `Model data download for ${options.owner} from URL "${location.url}" did not complete within ${Math.round(options.timeoutMs / 1000)} seconds.`,
          'timeout',
          { cause: error },
        );
      }
      throw new ModelDataError(`Failed to download model data for ${options.owner} from URL "${location.url}": ${(error as Error).message}`, 'unavailable', {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abortOuter);
    }
  }

  private missingReason(owner: string, url: string): string {
    return `Failed to download model data for ${owner} from URL: "${url}". Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`;
  }

  private async fetchArchive(url: string, owner: string, signal: AbortSignal): Promise<string> {
    const { bucket, key } = parseS3Url(url);
    let response;
    try {
      response = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    } catch (error) {
      if (isMissing(error)) throw new ModelDataError(this.missingReason(owner, url), 'missing', { cause: error });
      throw error;
    }
    const body = response.Body as Readable | undefined;
    const cacheKey = createHash('sha256').update(`${url}\0${response.ETag ?? ''}`).digest('hex');
    const dir = join(this.root, cacheKey);
    if (await exists(dir)) {
      body?.destroy();
      return dir;
    }
    const pending = this.inFlight.get(cacheKey);
    if (pending) {
      body?.destroy();
      return pending;
    }
    const work = (async () => {
      const tmp = join(this.root, `.tmp-${randomUUID()}`);
      await mkdir(this.root, { recursive: true });
      try {
        if (!body) throw new ModelDataError(this.missingReason(owner, url), 'missing');
        await extractArchive(body, tmp);
      } catch (error) {
        await rm(tmp, { recursive: true, force: true });
        if (error instanceof ArchiveRejectedError) {
          throw new ModelDataError(
            `Failed to extract model data archive from URL "${url}" for ${owner}. Please ensure that the object located at the URL is a valid tar.gz archive: ${error.message}`,
            'corrupt',
            { cause: error },
          );
        }
        throw error;
      }
      await this.publish(tmp, dir);
      return dir;
    })();
    this.inFlight.set(cacheKey, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(cacheKey);
    }
  }

  /** The `ModelDataSource` form with `CompressionType: None`: every object under the prefix, as files. */
  private async fetchPrefix(url: string, owner: string, signal: AbortSignal): Promise<string> {
    const { bucket, key: prefix } = parseS3Url(url);
    const objects: { key: string; etag: string }[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
        for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) objects.push({ key: o.Key, etag: o.ETag ?? '' });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      if (isMissing(error)) throw new ModelDataError(this.missingReason(owner, url), 'missing', { cause: error });
      throw error;
    }
    if (objects.length === 0) throw new ModelDataError(this.missingReason(owner, url), 'missing');
    const cacheKey = createHash('sha256').update(`${url}\0${objects.map((o) => `${o.key}:${o.etag}`).join('\0')}`).digest('hex');
    const dir = join(this.root, cacheKey);
    if (await exists(dir)) return dir;
    const tmp = join(this.root, `.tmp-${randomUUID()}`);
    try {
      for (const object of objects) {
        const rel = relative(prefix.endsWith('/') || prefix === '' ? prefix : dirname(prefix), object.key);
        if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) continue;
        const file = join(tmp, rel);
        await mkdir(dirname(file), { recursive: true });
        const got = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }), { abortSignal: signal });
        await writeFile(file, await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      }
      await mkdir(tmp, { recursive: true });
      await this.publish(tmp, dir);
      return dir;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Moves a finished extraction into place; losing a race to an identical entry is fine. */
  private async publish(tmp: string, dir: string): Promise<void> {
    try {
      await rename(tmp, dir);
    } catch (error) {
      if (!(await exists(dir))) throw error;
      await rm(tmp, { recursive: true, force: true });
    }
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  let names;
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of names) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
