import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ArchiveRejectedError } from '../../src/artifacts/errors';
import { inspectArchive } from '../../src/artifacts/inspect';
import {
  gnuLongNameEntry,
  gzipBuffer,
  HOSTILE_ARCHIVES,
  makeTempDir,
  manyFilesTar,
  paxRecords,
  rawTar,
  rawTarEntry,
  tarBuffer,
  tarGzBuffer,
  writeArchiveFile,
  zeroBombPath,
  type HostileArchive,
} from '../support/archives';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Hands the bytes over in pieces of `size`, as a network stream would. */
async function* inPieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function rejection(promise: Promise<unknown>): Promise<ArchiveRejectedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ArchiveRejectedError);
  return error as ArchiveRejectedError;
}

describe('Function: inspectArchive', () => {
  it('accepts nested directories and reports the sha256 and sizes of the bytes read', async () => {
    // Prepare
    const tar = await tarBuffer([
      { name: 'model/' },
      { name: 'model/model.onnx', content: Buffer.alloc(70_000, 5) },
      { name: 'model/code/' },
      { name: 'model/code/inference.py', content: 'def predict(x):\n    return x\n' },
      { name: 'model/empty.txt', content: '' },
    ]);
    const archive = gzipBuffer(tar);

    // Act
    const inspection = await inspectArchive(Readable.from([archive]));

    // Assess
    expect(inspection).toEqual({
      sha256: sha256(archive),
      compressedBytes: archive.length,
      uncompressedBytes: tar.length,
      entryCount: 5,
      fileCount: 3,
      fileBytes: 70_000 + 29,
    });
  });

  it('gives the same result whatever the chunking of the source, down to single bytes', async () => {
    // Prepare
    const archive = await tarGzBuffer([
      { name: 'a/' },
      { name: 'a/b.txt', content: 'b'.repeat(1000) },
      { name: `${'long-directory-name/'.repeat(8)}weights.bin`, content: Buffer.alloc(3000, 1) },
    ]);
    const whole = await inspectArchive(Readable.from([archive]));

    // Act
    const bytewise = await inspectArchive(inPieces(archive, 1));
    const odd = await inspectArchive(inPieces(archive, 511));

    // Assess
    expect(bytewise).toEqual(whole);
    expect(odd).toEqual(whole);
    expect(whole.sha256).toBe(sha256(archive));
  });

  it('accepts long names written as pax records and as GNU long-name records', async () => {
    // Prepare
    const longName = `${'very-long-path-segment-'.repeat(10)}/model-weights-${'x'.repeat(120)}.safetensors`;
    const paxArchive = await tarGzBuffer([{ name: longName, content: 'pax' }, { name: 'unicode/模型.onnx', content: 'u' }]);
    const gnuArchive = gzipBuffer(rawTar([gnuLongNameEntry(longName, 'gnu')]));

    // Act
    const pax = await inspectArchive(Readable.from([paxArchive]));
    const gnu = await inspectArchive(Readable.from([gnuArchive]));

    // Assess
    expect(pax).toMatchObject({ entryCount: 2, fileCount: 2, fileBytes: 4 });
    expect(gnu).toMatchObject({ entryCount: 1, fileCount: 1, fileBytes: 3 });
  });

  it('accepts pax headers with extra records, global records and a pax size', async () => {
    // Prepare
    const global = rawTarEntry({ name: 'pax_global_header', typeflag: 'g' }, paxRecords({ comment: 'built by ci' }));
    const body = Buffer.alloc(1500, 9);
    const local = rawTarEntry({ name: 'PaxHeader/weights.bin', typeflag: 'x' }, paxRecords({ size: '1500', mtime: '1700000000.5' }));
    // The ustar size field says 0: readers must take the size from the pax record.
    const header = rawTarEntry({ name: 'weights.bin', typeflag: '0' }).subarray(0, 512);
    const padded = Buffer.concat([body, Buffer.alloc(512 - (body.length % 512))]);
    const archive = gzipBuffer(rawTar([global, local, header, padded]));

    // Act
    const inspection = await inspectArchive(Readable.from([archive]));

    // Assess
    expect(inspection).toMatchObject({ entryCount: 1, fileCount: 1, fileBytes: 1500 });
  });

  it('accepts many files', async () => {
    // Prepare
    const archive = gzipBuffer(manyFilesTar(2000));

    // Act
    const inspection = await inspectArchive(Readable.from([archive]));

    // Assess
    expect(inspection).toMatchObject({ entryCount: 2001, fileCount: 2000 });
  });

  it('accepts a tiny text file that compresses far beyond the expansion ratio', async () => {
    // Prepare
    const archive = await tarGzBuffer([{ name: 'vocab.txt', content: 'token\n'.repeat(200_000) }]);

    // Act
    const inspection = await inspectArchive(Readable.from([archive]), { maxExpansionRatio: 2 });

    // Assess
    expect(inspection.uncompressedBytes / inspection.compressedBytes).toBeGreaterThan(100);
  });

  it('reads the source to its end: record padding after the end marker and zeros after the gzip stream', async () => {
    // Prepare
    const tar = Buffer.concat([await tarBuffer([{ name: 'model.onnx', content: 'm' }]), Buffer.alloc(8192), Buffer.from('junk after the end')]);
    const archive = Buffer.concat([gzipBuffer(tar), Buffer.alloc(40_000)]);
    let read = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of inPieces(archive, 1000)) {
        read += chunk.length;
        yield chunk;
      }
    }

    // Act
    const inspection = await inspectArchive(counted());

    // Assess
    expect(read).toBe(archive.length);
    expect(inspection).toMatchObject({ sha256: sha256(archive), compressedBytes: archive.length, uncompressedBytes: tar.length, fileCount: 1 });
  });

  it('accepts a file stream', async () => {
    // Prepare
    const temp = await makeTempDir();
    try {
      const archive = await tarGzBuffer([{ name: 'model.onnx', content: Buffer.alloc(200_000, 3) }]);
      const path = await writeArchiveFile(temp.dir, 'model.tar.gz', archive);

      // Act
      const inspection = await inspectArchive(createReadStream(path));

      // Assess
      expect(inspection.sha256).toBe(sha256(archive));
    } finally {
      await temp.remove();
    }
  });

  const cases = Object.entries(HOSTILE_ARCHIVES).filter(([kind]) => !kind.startsWith('decompression bomb')) as [string, HostileArchive][];
  it.each(cases)('refuses %s with its rule, naming the entry', async (_kind, hostile) => {
    // Prepare
    const archive = await hostile.build();

    // Act
    const error = await rejection(inspectArchive(Readable.from([archive]), hostile.limits));

    // Assess
    expect(error.rule).toBe(hostile.rule);
    expect(error.message).toContain(`rejected: ${hostile.rule} (`);
    if (hostile.entry !== undefined) {
      expect(error.entry).toBe(hostile.entry);
      expect(error.message).toContain(`entry ${JSON.stringify(hostile.entry)} rejected`);
    }
  });

  it('names the limit and the variable that sets it in size refusals', async () => {
    // Prepare
    const hostile = HOSTILE_ARCHIVES['file too large'];

    // Act
    const error = await rejection(inspectArchive(Readable.from([await hostile.build()]), hostile.limits));

    // Assess
    expect(error.message).toBe('entry "model.bin" rejected: file-size (1025 bytes, over the 1024-byte limit per file (ARCHIVE_MAX_FILE_BYTES))');
    expect(error).toMatchObject({ limit: 1024, actual: 1025 });
  });

  it('refuses the 4 GiB zero bomb after reading little, quickly, with bounded memory', async () => {
    // Prepare
    const path = zeroBombPath();
    let read = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of createReadStream(path)) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();

    // Act
    const error = await rejection(inspectArchive(counted()));

    // Assess
    const elapsed = performance.now() - started;
    expect(error.rule).toBe('expansion-ratio');
    expect(error.message).toMatch(/ARCHIVE_MAX_EXPANSION_RATIO/);
    expect(read).toBeLessThan(4 * 1024 * 1024);
    expect(elapsed).toBeLessThan(5000);
    expect(process.resourceUsage().maxRSS * 1024 - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });

  it('passes errors of the source through unchanged, since they may be transient', async () => {
    // Prepare
    const archive = await tarGzBuffer([{ name: 'model.onnx', content: Buffer.alloc(100_000, 1) }]);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield archive.subarray(0, 50);
      throw reset;
    }

    // Act
    const error = await inspectArchive(failing()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBe(reset);
  });

  it('stops reading the source as soon as a rule is broken', async () => {
    // Prepare
    const bad = await tarGzBuffer([{ name: '../evil', content: 'x' }]);
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield bad;
      for (;;) {
        pulled += 1;
        yield Buffer.alloc(65536);
      }
    }

    // Act
    const error = await rejection(inspectArchive(endless()));

    // Assess
    expect(error.rule).toBe('parent-traversal');
    expect(pulled).toBeLessThan(64);
  });

  it.each([
    ['right after the gzip stream', Buffer.from('trailing text')],
    ['after zero padding', Buffer.concat([Buffer.alloc(3000), Buffer.from('hidden')])],
  ])('refuses bytes %s that are neither gzip nor zeros', async (_where, trailing) => {
    // Prepare
    const archive = Buffer.concat([await tarGzBuffer([{ name: 'model.onnx', content: 'm' }]), trailing]);

    // Act
    const whole = await rejection(inspectArchive(Readable.from([archive])));
    const pieces = await rejection(inspectArchive(inPieces(archive, 700)));

    // Assess
    for (const error of [whole, pieces]) {
      expect(error.rule).toBe('corrupt-gzip');
      expect(error.message).toMatch(/after the gzip stream are neither another gzip member nor zero padding/);
    }
  });

  it('refuses a damaged second gzip member', async () => {
    // Prepare
    const tar = await tarBuffer([{ name: 'model.onnx', content: Buffer.alloc(5000, 2) }]);
    const second = zlib.gzipSync(tar.subarray(1000));
    second.writeUInt8((second.at(-5) ?? 0) ^ 0xff, second.length - 5); // its stored length no longer matches
    const archive = Buffer.concat([zlib.gzipSync(tar.subarray(0, 1000)), second]);

    // Act
    const error = await rejection(inspectArchive(Readable.from([archive])));

    // Assess
    expect(error.rule).toBe('corrupt-gzip');
    expect(error.message).toMatch(/the gzip stream is damaged/);
  });

  it('accepts concatenated gzip members, as gzip -dc does', async () => {
    // Prepare
    const tar = await tarBuffer([{ name: 'model.onnx', content: Buffer.alloc(5000, 2) }]);
    const archive = Buffer.concat([zlib.gzipSync(tar.subarray(0, 1000)), zlib.gzipSync(tar.subarray(1000))]);

    // Act
    const inspection = await inspectArchive(Readable.from([archive]));

    // Assess
    expect(inspection).toMatchObject({ uncompressedBytes: tar.length, fileBytes: 5000 });
  });
});
