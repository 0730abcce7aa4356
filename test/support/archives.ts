/**
 * Builders of real `.tar.gz` artifacts for tests: good ones (files, nested directories, long names) and every
 * hostile kind the archive checks of DESIGN.md §6 refuse. Headers come from tar-stream's pack wherever it will
 * write them; the entries it refuses to write (GNU long names, bad checksums, names it would mangle) are built
 * byte by byte with {@link rawTarHeader}.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import type { ArchiveRule } from '../../src/artifacts/errors';
import type { ArchiveLimits } from '../../src/artifacts/limits';

/** One member of a tar archive to build. */
export interface TarEntrySpec {
  name: string;
  /** Regular file body (a string is UTF-8). Ignored for other types. */
  content?: string | Uint8Array;
  /** Defaults to `'file'`, or `'directory'` when the name ends in `/`. */
  type?: Header['type'];
  /** Target of a symlink or hardlink. */
  linkname?: string;
  mode?: number;
  /**
   * Extra pax records. Passing one (even `{}`) makes tar-stream write the name into a pax `path` record, which
   * is the only place a name can carry bytes such as NUL; it writes pax on its own for names over 100 bytes.
   */
  pax?: Record<string, string>;
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

/** Builds an uncompressed tar with tar-stream's pack (end-of-archive marker included). */
export async function tarBuffer(entries: readonly TarEntrySpec[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    packer.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    packer.on('end', resolve);
    packer.on('error', reject);
  });
  for (const spec of entries) {
    const type = spec.type ?? (spec.name.endsWith('/') ? 'directory' : 'file');
    const header: Header = {
      name: spec.name,
      type,
      mode: spec.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: FIXED_MTIME,
      size: 0,
      linkname: spec.linkname ?? '',
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      devmajor: 0,
      devminor: 0,
      ...(spec.pax === undefined ? {} : { pax: spec.pax }),
    };
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (type === 'file' || type === 'contiguous-file') {
        const body = typeof spec.content === 'string' ? Buffer.from(spec.content) : Buffer.from(spec.content ?? []);
        packer.entry(header, body, callback);
      } else {
        packer.entry(header, callback).end(Buffer.alloc(0));
      }
    });
  }
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Gzips a buffer (level 6 unless told). */
export function gzipBuffer(data: Uint8Array, level = 6): Buffer {
  return zlib.gzipSync(data, { level });
}

/** Builds a `.tar.gz` of the given entries. */
export async function tarGzBuffer(entries: readonly TarEntrySpec[], level = 6): Promise<Buffer> {
  return gzipBuffer(await tarBuffer(entries), level);
}

/** Fields of a hand-made tar header, for entries tar-stream will not write. */
export interface RawHeaderFields {
  /** Raw name bytes (a string is written as UTF-8; bytes past 100 are cut). */
  name: string | Uint8Array;
  /** The type flag character: `'0'` file, `'5'` directory, `'2'` symlink, `'L'` GNU long name, ... */
  typeflag: string;
  size?: number;
  linkname?: string;
  prefix?: string;
  mode?: number;
  /** `'ustar'` (POSIX, the default), `'gnu'` (`ustar  \0`, as GNU tar writes) or `'v7'` (no magic). */
  format?: 'ustar' | 'gnu' | 'v7';
  /** Write a wrong checksum. */
  badChecksum?: boolean;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'latin1');
}

/** Encodes one 512-byte tar header exactly as told, checksum computed (or spoiled) per POSIX. */
export function rawTarHeader(fields: RawHeaderFields): Buffer {
  const block = Buffer.alloc(512);
  const name = typeof fields.name === 'string' ? Buffer.from(fields.name) : Buffer.from(fields.name);
  name.copy(block, 0, 0, Math.min(name.length, 100));
  writeOctal(block, 100, 8, fields.mode ?? (fields.typeflag === '5' ? 0o755 : 0o644));
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, fields.size ?? 0);
  writeOctal(block, 136, 12, Math.floor(FIXED_MTIME.getTime() / 1000));
  block.write(fields.typeflag, 156, 1, 'latin1');
  if (fields.linkname !== undefined) block.write(fields.linkname, 157, 100);
  const format = fields.format ?? 'ustar';
  if (format === 'ustar') block.write('ustar\u000000', 257, 8, 'latin1');
  if (format === 'gnu') block.write('ustar  \u0000', 257, 8, 'latin1');
  if (fields.prefix !== undefined) block.write(fields.prefix, 345, 155);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  if (fields.badChecksum) sum += 1;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return block;
}

/** A header, its body and the zero padding up to the next 512-byte block. */
export function rawTarEntry(fields: Omit<RawHeaderFields, 'size'>, content: string | Uint8Array = ''): Buffer {
  const body = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  const padding = (512 - (body.length % 512)) % 512;
  return Buffer.concat([rawTarHeader({ ...fields, size: body.length }), body, Buffer.alloc(padding)]);
}

/** The body of a pax header: `"<length> <key>=<value>\n"` records, each length counting itself. */
export function paxRecords(records: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(records).map(([key, value]) => {
      const rest = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(rest) + 1;
      while (String(length).length + Buffer.byteLength(rest) > length) length += 1;
      return Buffer.from(`${length}${rest}`);
    }),
  );
}

/** A regular file under a GNU `L` long-name record, as GNU tar writes names over 100 bytes. */
export function gnuLongNameEntry(name: string, content: string | Uint8Array): Buffer {
  return Buffer.concat([
    rawTarEntry({ name: '././@LongLink', typeflag: 'L', format: 'gnu' }, Buffer.concat([Buffer.from(name), Buffer.alloc(1)])),
    rawTarEntry({ name: name.slice(0, 100), typeflag: '0', format: 'gnu' }, content),
  ]);
}

/** Concatenates raw tar parts, with the end-of-archive marker unless told otherwise. */
export function rawTar(parts: readonly Uint8Array[], options: { end?: boolean } = {}): Buffer {
  return Buffer.concat(options.end === false ? [...parts] : [...parts, TAR_END]);
}

/** `count` small files under `files/`, written raw (tar-stream would take seconds for tens of thousands). */
export function manyFilesTar(count: number): Buffer {
  const parts: Buffer[] = [rawTarEntry({ name: 'files/', typeflag: '5' })];
  for (let index = 0; index < count; index += 1) {
    parts.push(rawTarEntry({ name: `files/f${index}.txt`, typeflag: '0' }, `${index}\n`));
  }
  return rawTar(parts);
}

/** One file `depth` path components deep (`d/d/.../leaf.txt`), with its directories listed. */
export function deepTar(depth: number): Buffer {
  const parts: Buffer[] = [];
  let prefix = '';
  for (let level = 1; level < depth; level += 1) {
    prefix += 'd/';
    parts.push(rawTarEntry({ name: prefix, typeflag: '5' }));
  }
  parts.push(rawTarEntry({ name: `${prefix}leaf.txt`, typeflag: '0' }, 'deep\n'));
  return rawTar(parts);
}

/** A temporary directory and its removal (tests call `remove` in `afterEach`/`finally`). */
export async function makeTempDir(prefix = 'artifacts-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `data` to `<dir>/<name>` and returns the path. */
export async function writeArchiveFile(dir: string, name: string, data: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

const CACHE_DIR = join(tmpdir(), 'smhost-test-archives');
const MiB = 1024 * 1024;

/**
 * Path of a cached decompression bomb: a valid `.tar.gz` holding one file `zeros.bin` of `zeroBytes` zeros
 * (4 GiB by default, about 4 MB compressed). Built once per machine without inflating anything: each MiB of
 * zeros is one deflate segment ending in a full flush, so the same compressed bytes can be repeated; the
 * gzip trailer carries the true CRC-32 and size, so `gzip -t` accepts the file.
 */
export function zeroBombPath(zeroBytes = 4 * 1024 * MiB): string {
  if (!Number.isSafeInteger(zeroBytes) || zeroBytes <= 0 || zeroBytes % MiB !== 0) {
    throw new RangeError(`zeroBytes must be a positive whole number of MiB, got ${zeroBytes}`);
  }
  const path = join(CACHE_DIR, `zero-bomb-${zeroBytes}.tar.gz`);
  if (existsSync(path)) return path;
  mkdirSync(CACHE_DIR, { recursive: true });

  const fullFlush = { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH };
  const header = rawTarHeader({ name: 'zeros.bin', typeflag: '0', size: zeroBytes });
  const zeros = Buffer.alloc(MiB);
  const zeroSegment = zlib.deflateRawSync(zeros, fullFlush);
  const gzipHeader = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

  let crc = zlib.crc32(header);
  const partial = `${path}.${process.pid}.${randomUUID()}.partial`;
  const fd = openSync(partial, 'w');
  try {
    writeSync(fd, gzipHeader);
    writeSync(fd, zlib.deflateRawSync(header, fullFlush));
    for (let written = 0; written < zeroBytes; written += MiB) {
      writeSync(fd, zeroSegment);
      crc = zlib.crc32(zeros, crc);
    }
    writeSync(fd, zlib.deflateRawSync(TAR_END));
    crc = zlib.crc32(TAR_END, crc);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE((header.length + zeroBytes + TAR_END.length) % 2 ** 32, 4);
    writeSync(fd, trailer);
  } finally {
    closeSync(fd);
  }
  // Renaming makes concurrent test processes race harmlessly: each builds the same bytes, the last one wins.
  try {
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    if (!existsSync(path)) throw error;
  }
  return path;
}

/** A hostile (or otherwise refused) artifact, the rule it breaks and the entry the refusal names. */
export interface HostileArchive {
  rule: ArchiveRule;
  /** The entry name the rejection reports, when the rule is about one entry. */
  entry?: string;
  /** Limits to inspect with, for rules whose default limits are too large to trip in a quick test. */
  limits?: Partial<ArchiveLimits>;
  build: () => Promise<Buffer>;
}

const ok = (name: string): TarEntrySpec => ({ name, content: `contents of ${name}\n` });

/**
 * Every refused kind of artifact, by name. Shared by the unit tests of `src/artifacts` and the integration
 * tests of registration, so both check the same bytes.
 */
export const HOSTILE_ARCHIVES = {
  'empty object': { rule: 'empty', build: async () => Buffer.alloc(0) },
  'not gzip (text)': { rule: 'not-gzip', build: async () => Buffer.from('this is not an archive\n') },
  'not gzip (zip)': {
    rule: 'not-gzip',
    build: async () => Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.alloc(60)]),
  },
  'not gzip (bzip2)': { rule: 'not-gzip', build: async () => Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(40)]) },
  'not gzip (uncompressed tar)': { rule: 'not-gzip', build: () => tarBuffer([ok('model.onnx')]) },
  'truncated gzip': {
    rule: 'truncated-gzip',
    build: async () => {
      const whole = await tarGzBuffer([{ name: 'model.bin', content: Buffer.alloc(64 * 1024, 7) }, ok('code/inference.py')]);
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
  },
  'corrupt gzip': {
    rule: 'corrupt-gzip',
    build: async () => {
      const whole = await tarGzBuffer([ok('model.onnx')]);
      const spoiled = Buffer.from(whole);
      spoiled.writeUInt32LE((spoiled.readUInt32LE(spoiled.length - 8) ^ 0xffffffff) >>> 0, spoiled.length - 8);
      return spoiled;
    },
  },
  'gzip of a non-tar': { rule: 'not-tar', build: async () => gzipBuffer(Buffer.from('{"weights": [1, 2, 3]}\n'.repeat(100))) },
  'gzip of nothing': { rule: 'not-tar', build: async () => gzipBuffer(Buffer.alloc(0)) },
  'truncated tar': {
    rule: 'truncated-tar',
    entry: 'model.bin',
    build: async () => gzipBuffer((await tarBuffer([{ name: 'model.bin', content: Buffer.alloc(4096, 1) }])).subarray(0, 2048)),
  },
  'tar without end marker': {
    rule: 'truncated-tar',
    build: async () => gzipBuffer(rawTar([rawTarEntry({ name: 'model.onnx', typeflag: '0' }, 'x')], { end: false })),
  },
  'bad header checksum': {
    rule: 'corrupt-tar',
    build: async () =>
      gzipBuffer(
        rawTar([
          rawTarEntry({ name: 'model.onnx', typeflag: '0' }, 'x'),
          rawTarEntry({ name: 'other.onnx', typeflag: '0', badChecksum: true }, 'y'),
        ]),
      ),
  },
  'parent traversal': { rule: 'parent-traversal', entry: '../evil.sh', build: () => tarGzBuffer([ok('model.onnx'), ok('../evil.sh')]) },
  'nested parent traversal': {
    rule: 'parent-traversal',
    entry: 'code/../../evil.sh',
    build: () => tarGzBuffer([ok('code/../../evil.sh')]),
  },
  'absolute path': { rule: 'absolute-path', entry: '/etc/cron.d/evil', build: () => tarGzBuffer([ok('/etc/cron.d/evil')]) },
  backslash: { rule: 'backslash', entry: 'code\\..\\evil.bat', build: () => tarGzBuffer([ok('code\\..\\evil.bat')]) },
  'NUL in name': { rule: 'nul-in-name', entry: 'model.onnx\u0000.txt', build: () => tarGzBuffer([{ ...ok('model.onnx\u0000.txt'), pax: {} }]) },
  'name too long': {
    rule: 'name-length',
    entry: 'n'.repeat(4097),
    build: () => tarGzBuffer([ok('n'.repeat(4097))]),
  },
  symlink: {
    rule: 'entry-type',
    entry: 'model.onnx',
    build: () => tarGzBuffer([{ name: 'model.onnx', type: 'symlink', linkname: '/etc/passwd' }]),
  },
  hardlink: {
    rule: 'entry-type',
    entry: 'copy.onnx',
    build: () => tarGzBuffer([ok('model.onnx'), { name: 'copy.onnx', type: 'link', linkname: 'model.onnx' }]),
  },
  'character device': { rule: 'entry-type', entry: 'dev/null', build: () => tarGzBuffer([{ name: 'dev/null', type: 'character-device' }]) },
  'block device': { rule: 'entry-type', entry: 'dev/sda', build: () => tarGzBuffer([{ name: 'dev/sda', type: 'block-device' }]) },
  fifo: { rule: 'entry-type', entry: 'pipe', build: () => tarGzBuffer([ok('model.onnx'), { name: 'pipe', type: 'fifo' }]) },
  'duplicate file': { rule: 'duplicate-entry', entry: 'model.onnx', build: () => tarGzBuffer([ok('model.onnx'), ok('model.onnx')]) },
  'file under a file': { rule: 'duplicate-entry', entry: 'model.onnx/x', build: () => tarGzBuffer([ok('model.onnx'), ok('model.onnx/x')]) },
  'directories only': { rule: 'no-files', build: () => tarGzBuffer([{ name: 'code/' }, { name: 'code/lib/' }]) },
  'no entries at all': { rule: 'no-files', build: async () => gzipBuffer(TAR_END) },
  'too many entries': { rule: 'entry-count', limits: { maxEntries: 50 }, build: async () => gzipBuffer(manyFilesTar(60)) },
  'too many entries (default limit)': { rule: 'entry-count', build: async () => gzipBuffer(manyFilesTar(10_001)) },
  'too deep': { rule: 'depth', limits: { maxDepth: 8 }, build: async () => gzipBuffer(deepTar(9)) },
  'too deep (default limit)': { rule: 'depth', build: async () => gzipBuffer(deepTar(33)) },
  'file too large': {
    rule: 'file-size',
    entry: 'model.bin',
    limits: { maxFileBytes: 1024 },
    build: () => tarGzBuffer([{ name: 'model.bin', content: Buffer.alloc(1025, 3) }]),
  },
  'too much uncompressed data': {
    rule: 'uncompressed-size',
    limits: { maxUncompressedBytes: 100 * 1024 },
    build: () => tarGzBuffer([{ name: 'a.bin', content: Buffer.alloc(60 * 1024, 1) }, { name: 'b.bin', content: Buffer.alloc(60 * 1024, 2) }]),
  },
  'object too large': {
    rule: 'compressed-size',
    limits: { maxCompressedBytes: 1024 },
    build: async () => gzipBuffer(await tarBuffer([{ name: 'noise.bin', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)) }]), 0),
  },
  'decompression bomb (4 GiB of zeros)': {
    rule: 'expansion-ratio',
    build: () => readFile(zeroBombPath()),
  },
} satisfies Record<string, HostileArchive>;

/** The names of {@link HOSTILE_ARCHIVES}. */
export type HostileArchiveKind = keyof typeof HOSTILE_ARCHIVES;
