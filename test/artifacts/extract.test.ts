import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArchiveLimitsError, ArchiveRejectedError, ExtractDestinationError } from '../../src/artifacts/errors';
import { extractArchive } from '../../src/artifacts/extract';
import { inspectArchive } from '../../src/artifacts/inspect';
import { gzipBuffer, HOSTILE_ARCHIVES, makeTempDir, tarBuffer, tarGzBuffer, writeArchiveFile, zeroBombPath, type HostileArchive } from '../support/archives';

/** Every path under `dir`, directories with a trailing slash, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => {
      const path = relative(dir, join(entry.parentPath, entry.name));
      return entry.isDirectory() ? `${path}/` : path;
    })
    .sort();
}

describe('Function: extractArchive', () => {
  let sandbox: { dir: string; remove: () => Promise<void> };
  beforeEach(async () => {
    sandbox = await makeTempDir('artifacts-extract-');
  });
  afterEach(async () => {
    await sandbox.remove();
  });

  it('writes exactly the archive files and directories, with their contents, and reports as inspection does', async () => {
    // Prepare
    const weights = Buffer.from(Array.from({ length: 300_000 }, (_, index) => (index * 31) % 256));
    const longDir = `${'segment-of-a-long-path/'.repeat(6)}`;
    const archive = await tarGzBuffer([
      { name: './' },
      { name: './model/' },
      { name: './model/weights.bin', content: weights },
      { name: './model/code/inference.py', content: 'print(1)\n', mode: 0o755 },
      { name: `./${longDir}config.json`, content: '{}' },
      { name: 'empty/' },
      { name: 'zero.txt', content: '' },
    ]);
    const dest = join(sandbox.dir, 'out');

    // Act
    const result = await extractArchive(Readable.from([archive]), dest);

    // Assess
    expect(result).toEqual(await inspectArchive(Readable.from([archive])));
    const longParts = longDir.split('/').filter(Boolean);
    const longDirs = longParts.map((_, index) => `${longParts.slice(0, index + 1).join('/')}/`);
    expect(await tree(dest)).toEqual(
      [
        'empty/',
        'model/',
        'model/code/',
        'model/code/inference.py',
        'model/weights.bin',
        'zero.txt',
        ...longDirs,
        `${longDir}config.json`,
      ].sort(),
    );
    expect(createHash('sha256').update(await readFile(join(dest, 'model/weights.bin'))).digest('hex')).toBe(
      createHash('sha256').update(weights).digest('hex'),
    );
    expect(await readFile(join(dest, 'model/code/inference.py'), 'utf8')).toBe('print(1)\n');
    expect((await stat(join(dest, 'model/code/inference.py'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, 'zero.txt'))).size).toBe(0);
  });

  it('never restores set-uid or world-writable modes', async () => {
    // Prepare
    const archive = await tarGzBuffer([
      { name: 'run.sh', content: '#!/bin/sh\n', mode: 0o4777 },
      { name: 'data.txt', content: 'd', mode: 0o666 },
    ]);
    const dest = join(sandbox.dir, 'out');

    // Act
    await extractArchive(Readable.from([archive]), dest);

    // Assess
    expect((await stat(join(dest, 'run.sh'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(dest, 'data.txt'))).mode & 0o7777).toBe(0o644);
  });

  it('extracts into an existing empty directory from a file stream', async () => {
    // Prepare
    const archive = await tarGzBuffer([{ name: 'model.onnx', content: Buffer.alloc(150_000, 4) }]);
    const path = await writeArchiveFile(sandbox.dir, 'model.tar.gz', archive);
    const dest = join(sandbox.dir, 'existing');
    await mkdir(dest);

    // Act
    const result = await extractArchive(createReadStream(path), dest);

    // Assess
    expect(result.fileBytes).toBe(150_000);
    expect(await tree(dest)).toEqual(['model.onnx']);
  });

  it('refuses a destination that is not empty, without reading the source', async () => {
    // Prepare
    const dest = join(sandbox.dir, 'busy');
    await mkdir(dest);
    await writeFile(join(dest, 'keep.txt'), 'mine');
    let pulled = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      pulled = true;
      yield await tarGzBuffer([{ name: 'keep.txt', content: 'theirs' }]);
    }

    // Act
    const error = await extractArchive(source(), dest).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ExtractDestinationError);
    expect((error as Error).message).toMatch(/extraction target ".*busy" is not empty \(1 entries\)/);
    expect(pulled).toBe(false);
    expect(await readFile(join(dest, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('refuses a destination that is a file', async () => {
    // Prepare
    const dest = join(sandbox.dir, 'file');
    await writeFile(dest, 'x');

    // Act
    const error = await extractArchive(Readable.from([Buffer.alloc(0)]), dest).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ExtractDestinationError);
    expect((error as Error).message).toMatch(/is not a directory/);
  });

  // The default-limit variants would write 10,000 files before the count is exceeded; the small-limit variants
  // check the same rules, faster.
  const cases = Object.entries(HOSTILE_ARCHIVES).filter(([kind]) => !kind.endsWith('(default limit)')) as [string, HostileArchive][];
  it.each(cases)('refuses %s and leaves nothing behind, inside or outside', async (_kind, hostile) => {
    // Prepare
    const archive = await hostile.build();
    const dest = join(sandbox.dir, 'nested', 'out');

    // Act
    const error = await extractArchive(Readable.from([archive]), dest, hostile.limits).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ArchiveRejectedError);
    expect((error as ArchiveRejectedError).rule).toBe(hostile.rule);
    expect(await readdir(sandbox.dir)).toEqual([]);
  });

  it('removes files already written when a later entry is refused, and keeps an existing destination', async () => {
    // Prepare
    const archive = await tarGzBuffer([
      { name: 'model/' },
      { name: 'model/weights.bin', content: Buffer.alloc(500_000, 1) },
      { name: 'model/code/ok.py', content: 'ok' },
      { name: 'model/../../escape.txt', content: 'x' },
    ]);
    const dest = join(sandbox.dir, 'out');
    await mkdir(dest);

    // Act
    const error = await extractArchive(Readable.from([archive]), dest).catch((caught: unknown) => caught);

    // Assess
    expect((error as ArchiveRejectedError).rule).toBe('parent-traversal');
    expect(await tree(sandbox.dir)).toEqual(['out/']);
  });

  it('removes the partial file when the archive is cut off inside it', async () => {
    // Prepare
    const tar = await tarBuffer([{ name: 'a.txt', content: 'a' }, { name: 'big.bin', content: Buffer.alloc(400_000, 2) }]);
    const archive = gzipBuffer(tar.subarray(0, 200_000));
    const dest = join(sandbox.dir, 'out');

    // Act
    const error = await extractArchive(Readable.from([archive]), dest).catch((caught: unknown) => caught);

    // Assess
    expect((error as ArchiveRejectedError).rule).toBe('truncated-tar');
    expect((error as ArchiveRejectedError).entry).toBe('big.bin');
    expect(await readdir(sandbox.dir)).toEqual([]);
  });

  it('refuses the 4 GiB zero bomb after writing little, and removes it', async () => {
    // Prepare
    const dest = join(sandbox.dir, 'out');
    const started = performance.now();

    // Act
    const error = await extractArchive(createReadStream(zeroBombPath()), dest).catch((caught: unknown) => caught);

    // Assess
    expect((error as ArchiveRejectedError).rule).toBe('expansion-ratio');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await readdir(sandbox.dir)).toEqual([]);
  });

  it('refuses unusable limits before creating anything', async () => {
    // Prepare
    const dest = join(sandbox.dir, 'out');

    // Act
    const error = await extractArchive(Readable.from([Buffer.alloc(1)]), dest, { maxDepth: 0 }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ArchiveLimitsError);
    expect((error as Error).message).toBe('archive limit maxDepth must be a whole number of at least 1, got 0');
    expect(await readdir(sandbox.dir)).toEqual([]);
  });

  it('passes a source error through unchanged and cleans up', async () => {
    // Prepare
    const tar = await tarBuffer([{ name: 'a.txt', content: Buffer.alloc(300_000, 1) }]);
    const archive = gzipBuffer(tar, 0);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield archive.subarray(0, 100_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw reset;
    }
    const dest = join(sandbox.dir, 'out');

    // Act
    const error = await extractArchive(failing(), dest).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBe(reset);
    expect(await readdir(sandbox.dir)).toEqual([]);
  });
});
