/**
 * The local S3's storage: buckets, objects, tags and multipart uploads on disk under one directory, with
 * an in-memory index rebuilt at start. Each object's bytes live in a file named per write, and its
 * metadata file is replaced atomically after the bytes are in place, so a reader never sees new metadata
 * over old bytes, and a write either happened entirely or not at all. Writes to one key are serialised,
 * which is what makes conditional writes (`If-Match`, `If-None-Match`) exact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createChecksum, type ChecksumAlgorithm } from './checksums';
import { noSuchBucket, noSuchKey, noSuchUpload, preconditionFailed, S3ServiceError } from './s3-error';

export interface ObjectRecord {
  key: string;
  size: number;
  /** Quoted, as S3 returns it in headers. */
  etag: string;
  lastModified: string;
  dataFile: string;
  contentType: string;
  /** Stored representation headers: cache-control, content-disposition, content-encoding, content-language, expires. */
  headers: Record<string, string>;
  /** User metadata, names without the `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  tags: Record<string, string>;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  partsCount?: number;
}

export interface ObjectAttributes {
  contentType?: string;
  headers?: Record<string, string>;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/** Conditions a write must meet when it commits. */
export interface WriteCondition {
  ifMatch?: string;
  ifNoneMatch?: string;
}

export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  file: string;
  lastModified: string;
}

export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  attributes: ObjectAttributes;
  parts: Record<string, PartRecord>;
}

export interface BucketRecord {
  name: string;
  created: string;
  /** The raw NotificationConfiguration XML last put, if any. */
  notificationXml?: string;
}

interface BucketState {
  record: BucketRecord;
  objects: Map<string, ObjectRecord>;
  sortedKeys?: string[];
}

/** The result of streaming a body to a temporary file. */
export interface SpooledBody {
  path: string;
  size: number;
  md5: Buffer;
  checksum?: { algorithm: ChecksumAlgorithm; value: string | undefined };
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

function objectId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** True when an `If-Match`-style list (`"a", "b"` or `*`) matches `etag`. */
export function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((candidate) => candidate.trim() === '*' || unquote(candidate) === unquote(etag));
}

/** Sorts as S3 lists: by the UTF-8 bytes of the key, which is code point order. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i += 1;
  }
  return a.length - b.length;
}

async function writeJsonAtomic(path: string, value: unknown, tmpDir: string): Promise<void> {
  const temp = join(tmpDir, `${randomBytes(8).toString('hex')}.json`);
  await writeFile(temp, JSON.stringify(value));
  await rename(temp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class ObjectStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly uploads = new Map<string, UploadRecord>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly tmpDir: string;

  private constructor(private readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  /** Opens (or creates) a store under `root` and loads its index. */
  static async open(root: string): Promise<ObjectStore> {
    const store = new ObjectStore(root);
    await store.load();
    return store;
  }

  private bucketDir(bucket: string): string {
    return join(this.root, 'buckets', bucket);
  }

  private async load(): Promise<void> {
    // Temporary files are writes that never committed: they are not objects.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(join(this.root, 'buckets'), { recursive: true });
    for (const name of await readdir(join(this.root, 'buckets'))) {
      const dir = this.bucketDir(name);
      const record = await readJson<BucketRecord>(join(dir, 'bucket.json'));
      if (!record) continue;
      const state: BucketState = { record, objects: new Map() };
      const objectsDir = join(dir, 'objects');
      const files = await readdir(objectsDir).catch(() => [] as string[]);
      const referenced = new Set<string>();
      for (const file of files.filter((f) => f.endsWith('.json'))) {
        const object = await readJson<ObjectRecord>(join(objectsDir, file));
        if (!object) continue;
        state.objects.set(object.key, object);
        referenced.add(object.dataFile);
      }
      // Data files no metadata points at were replaced or half-written before a stop.
      await Promise.all(files.filter((f) => f.endsWith('.bin') && !referenced.has(f)).map((f) => unlink(join(objectsDir, f)).catch(() => undefined)));
      this.buckets.set(name, state);
      const uploadsDir = join(dir, 'uploads');
      for (const uploadId of await readdir(uploadsDir).catch(() => [] as string[])) {
        const upload = await readJson<UploadRecord>(join(uploadsDir, uploadId, 'upload.json'));
        if (upload) this.uploads.set(uploadId, upload);
      }
    }
  }

  /** Runs `task` with the key's lock held, so writes to one key commit one at a time. */
  private async withLock<T>(lockKey: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(lockKey) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.catch(() => undefined);
    this.locks.set(lockKey, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(lockKey) === settled) this.locks.delete(lockKey);
    }
  }

  private state(bucket: string): BucketState {
    const state = this.buckets.get(bucket);
    if (!state) throw noSuchBucket(bucket);
    return state;
  }

  listBuckets(): BucketRecord[] {
    return [...this.buckets.values()].map((state) => state.record).sort((a, b) => compareKeys(a.name, b.name));
  }

  bucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name)?.record;
  }

  /** Creates a bucket; `BucketAlreadyOwnedByYou` when it exists. */
  async createBucket(name: string): Promise<BucketRecord> {
    if (this.buckets.has(name)) {
      throw new S3ServiceError('BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name });
    }
    const record: BucketRecord = { name, created: new Date().toISOString() };
    this.buckets.set(name, { record, objects: new Map() });
    await mkdir(join(this.bucketDir(name), 'objects'), { recursive: true });
    await writeJsonAtomic(join(this.bucketDir(name), 'bucket.json'), record, this.tmpDir);
    return record;
  }

  async deleteBucket(name: string): Promise<void> {
    const state = this.state(name);
    if (state.objects.size > 0) throw new S3ServiceError('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', { BucketName: name });
    this.buckets.delete(name);
    for (const [id, upload] of this.uploads) if (upload.bucket === name) this.uploads.delete(id);
    await rm(this.bucketDir(name), { recursive: true, force: true });
  }

  async setNotificationXml(bucket: string, xml: string | undefined): Promise<void> {
    const state = this.state(bucket);
    state.record = { ...state.record, notificationXml: xml };
    await writeJsonAtomic(join(this.bucketDir(bucket), 'bucket.json'), state.record, this.tmpDir);
  }

  /** The object's record, or undefined. Throws `NoSuchBucket`. */
  head(bucket: string, key: string): ObjectRecord | undefined {
    return this.state(bucket).objects.get(key);
  }

  /** Keys of the bucket in S3 listing order. */
  sortedKeys(bucket: string): string[] {
    const state = this.state(bucket);
    state.sortedKeys ??= [...state.objects.keys()].sort(compareKeys);
    return state.sortedKeys;
  }

  /** Streams `body` to a temporary file, measuring size, MD5 and an optional flexible checksum. */
  async spool(body: Readable, checksumAlgorithm?: ChecksumAlgorithm, limit?: number): Promise<SpooledBody> {
    const path = join(this.tmpDir, `${randomBytes(12).toString('hex')}.bin`);
    const md5 = createHash('md5');
    const checksum = checksumAlgorithm ? createChecksum(checksumAlgorithm) : undefined;
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (limit !== undefined && size > limit) {
          callback(new S3ServiceError('EntityTooLarge', 400, `Your proposed upload exceeds the maximum allowed size of ${limit} bytes`));
          return;
        }
        md5.update(chunk);
        checksum?.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(path));
    } catch (error) {
      await unlink(path).catch(() => undefined);
      throw error;
    }
    return {
      path,
      size,
      md5: md5.digest(),
      ...(checksumAlgorithm ? { checksum: { algorithm: checksumAlgorithm, value: checksum!.digest() } } : {}),
    };
  }

  /** Drops a spooled file that will not be committed. */
  async discard(spooled: SpooledBody): Promise<void> {
    await unlink(spooled.path).catch(() => undefined);
  }

  private checkCondition(existing: ObjectRecord | undefined, key: string, condition: WriteCondition | undefined): void {
    if (!condition) return;
    if (condition.ifNoneMatch !== undefined && existing && etagMatches(condition.ifNoneMatch, existing.etag)) {
      throw preconditionFailed('If-None-Match');
    }
    if (condition.ifMatch !== undefined) {
      if (!existing) throw noSuchKey(key);
      if (!etagMatches(condition.ifMatch, existing.etag)) throw preconditionFailed('If-Match');
    }
  }

  /**
   * Makes a spooled file the object's content, if `condition` holds at that moment. Returns the new
   * record and the one it replaced.
   */
  async commit(
    bucket: string,
    key: string,
    spooled: { path: string; size: number; etag: string; partsCount?: number },
    attributes: ObjectAttributes,
    condition?: WriteCondition,
  ): Promise<{ record: ObjectRecord; replaced?: ObjectRecord }> {
    this.state(bucket);
    return this.withLock(`${bucket}/${key}`, async () => {
      const state = this.state(bucket);
      const existing = state.objects.get(key);
      try {
        this.checkCondition(existing, key, condition);
      } catch (error) {
        await unlink(spooled.path).catch(() => undefined);
        throw error;
      }
      const id = objectId(key);
      const dataFile = `${id}.${randomBytes(6).toString('hex')}.bin`;
      const objectsDir = join(this.bucketDir(bucket), 'objects');
      const record: ObjectRecord = {
        key,
        size: spooled.size,
        etag: spooled.etag,
        lastModified: new Date().toISOString(),
        dataFile,
        contentType: attributes.contentType ?? 'binary/octet-stream',
        headers: attributes.headers ?? {},
        metadata: attributes.metadata ?? {},
        tags: attributes.tags ?? {},
        ...(attributes.checksum ? { checksum: attributes.checksum } : {}),
        ...(spooled.partsCount ? { partsCount: spooled.partsCount } : {}),
      };
      await rename(spooled.path, join(objectsDir, dataFile));
      await writeJsonAtomic(join(objectsDir, `${id}.json`), record, this.tmpDir);
      state.objects.set(key, record);
      if (!existing) state.sortedKeys = undefined;
      // Readers that opened the old file keep reading it: unlinking does not cut them off.
      if (existing) await unlink(join(objectsDir, existing.dataFile)).catch(() => undefined);
      return { record, ...(existing ? { replaced: existing } : {}) };
    });
  }

  /** Replaces an object's tags (not its content or ETag). */
  async setTags(bucket: string, key: string, tags: Record<string, string>): Promise<ObjectRecord> {
    return this.withLock(`${bucket}/${key}`, async () => {
      const state = this.state(bucket);
      const existing = state.objects.get(key);
      if (!existing) throw noSuchKey(key);
      const record = { ...existing, tags };
      await writeJsonAtomic(join(this.bucketDir(bucket), 'objects', `${objectId(key)}.json`), record, this.tmpDir);
      state.objects.set(key, record);
      return record;
    });
  }

  /** Deletes an object; returns the record removed, or undefined when there was none. */
  async delete(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    this.state(bucket);
    return this.withLock(`${bucket}/${key}`, async () => {
      const state = this.state(bucket);
      const existing = state.objects.get(key);
      if (!existing) return undefined;
      state.objects.delete(key);
      state.sortedKeys = undefined;
      const objectsDir = join(this.bucketDir(bucket), 'objects');
      await unlink(join(objectsDir, `${objectId(key)}.json`)).catch(() => undefined);
      await unlink(join(objectsDir, existing.dataFile)).catch(() => undefined);
      return existing;
    });
  }

  /** A stream of the object's bytes, `start`/`end` inclusive. */
  read(bucket: string, record: ObjectRecord, range?: { start: number; end: number }): Readable {
    const path = join(this.bucketDir(bucket), 'objects', record.dataFile);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  // Multipart uploads

  private uploadDir(upload: UploadRecord): string {
    return join(this.bucketDir(upload.bucket), 'uploads', upload.uploadId);
  }

  async createUpload(bucket: string, key: string, attributes: ObjectAttributes): Promise<UploadRecord> {
    this.state(bucket);
    const upload: UploadRecord = {
      uploadId: randomBytes(24).toString('base64url'),
      bucket,
      key,
      initiated: new Date().toISOString(),
      attributes,
      parts: {},
    };
    await mkdir(this.uploadDir(upload), { recursive: true });
    await writeJsonAtomic(join(this.uploadDir(upload), 'upload.json'), upload, this.tmpDir);
    this.uploads.set(upload.uploadId, upload);
    return upload;
  }

  upload(bucket: string, key: string, uploadId: string): UploadRecord {
    this.state(bucket);
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId);
    return upload;
  }

  listUploads(bucket: string): UploadRecord[] {
    this.state(bucket);
    return [...this.uploads.values()]
      .filter((upload) => upload.bucket === bucket)
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated.localeCompare(b.initiated));
  }

  /** Stores a spooled part as part `partNumber` of the upload, replacing an earlier one. */
  async putPart(upload: UploadRecord, partNumber: number, spooled: SpooledBody): Promise<PartRecord> {
    return this.withLock(`upload:${upload.uploadId}`, async () => {
      if (!this.uploads.has(upload.uploadId)) {
        await unlink(spooled.path).catch(() => undefined);
        throw noSuchUpload(upload.uploadId);
      }
      const file = `part-${partNumber}-${randomBytes(4).toString('hex')}.bin`;
      await rename(spooled.path, join(this.uploadDir(upload), file));
      const previous = upload.parts[String(partNumber)];
      const part: PartRecord = { partNumber, etag: `"${spooled.md5.toString('hex')}"`, size: spooled.size, file, lastModified: new Date().toISOString() };
      upload.parts[String(partNumber)] = part;
      await writeJsonAtomic(join(this.uploadDir(upload), 'upload.json'), upload, this.tmpDir);
      if (previous) await unlink(join(this.uploadDir(upload), previous.file)).catch(() => undefined);
      return part;
    });
  }

  async abortUpload(upload: UploadRecord): Promise<void> {
    await this.withLock(`upload:${upload.uploadId}`, async () => {
      this.uploads.delete(upload.uploadId);
      await rm(this.uploadDir(upload), { recursive: true, force: true });
    });
  }

  /**
   * Assembles the listed parts into the object. Part order, ETags and the 5 MiB minimum for all but the
   * last part are checked as S3 checks them.
   */
  async completeUpload(
    upload: UploadRecord,
    requested: Array<{ partNumber: number; etag: string }>,
    condition?: WriteCondition,
  ): Promise<{ record: ObjectRecord; replaced?: ObjectRecord }> {
    if (requested.length === 0) throw new S3ServiceError('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema: no parts');
    const parts: PartRecord[] = [];
    let previousNumber = 0;
    for (const [index, item] of requested.entries()) {
      if (item.partNumber <= previousNumber) throw new S3ServiceError('InvalidPartOrder', 400, 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
      previousNumber = item.partNumber;
      const part = upload.parts[String(item.partNumber)];
      if (!part || unquote(part.etag) !== unquote(item.etag)) {
        throw new S3ServiceError('InvalidPart', 400, 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', {
          UploadId: upload.uploadId,
          PartNumber: String(item.partNumber),
          ETag: item.etag,
        });
      }
      if (index < requested.length - 1 && part.size < MIN_PART_SIZE) {
        throw new S3ServiceError('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: String(part.size),
          MinSizeAllowed: String(MIN_PART_SIZE),
          PartNumber: String(item.partNumber),
        });
      }
      parts.push(part);
    }
    return this.withLock(`upload:${upload.uploadId}`, async () => {
      if (!this.uploads.has(upload.uploadId)) throw noSuchUpload(upload.uploadId);
      const path = join(this.tmpDir, `${randomBytes(12).toString('hex')}.bin`);
      const out = createWriteStream(path);
      let size = 0;
      try {
        for (const part of parts) {
          await pipeline(createReadStream(join(this.uploadDir(upload), part.file)), out, { end: false });
          size += part.size;
        }
        await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
      } catch (error) {
        out.destroy();
        await unlink(path).catch(() => undefined);
        throw error;
      }
      const md5 = createHash('md5');
      for (const part of parts) md5.update(Buffer.from(unquote(part.etag), 'hex'));
      const etag = `"${md5.digest('hex')}-${parts.length}"`;
      const result = await this.commit(upload.bucket, upload.key, { path, size, etag, partsCount: parts.length }, upload.attributes, condition);
      this.uploads.delete(upload.uploadId);
      await rm(this.uploadDir(upload), { recursive: true, force: true });
      return result;
    });
  }
}
