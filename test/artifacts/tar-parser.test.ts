import { describe, expect, it } from 'vitest';
import { ArchiveRejectedError } from '../../src/artifacts/errors';
import { TarParser, type TarEvent } from '../../src/artifacts/tar-parser';
import { gnuLongNameEntry, paxRecords, rawTar, rawTarEntry, rawTarHeader, tarBuffer, TAR_END } from '../support/archives';

/** Parses a whole tar, pushing it in pieces of `size`, and returns the entries with their body lengths. */
function parse(tar: Buffer, size = tar.length): { name: string; kind: string; size: number; body: number }[] {
  const parser = new TarParser();
  const entries: { name: string; kind: string; size: number; body: number }[] = [];
  const events: TarEvent[] = [];
  for (let offset = 0; offset < tar.length; offset += size) {
    events.length = 0;
    parser.push(tar.subarray(offset, offset + size), events);
    for (const event of events) {
      if (event.type === 'entry') entries.push({ name: event.entry.name, kind: event.entry.kind, size: event.entry.size, body: 0 });
      if (event.type === 'data') (entries.at(-1) as { body: number }).body += event.chunk.length;
    }
  }
  parser.end();
  return entries;
}

function parseError(tar: Buffer): ArchiveRejectedError {
  try {
    parse(tar);
  } catch (error) {
    expect(error).toBeInstanceOf(ArchiveRejectedError);
    return error as ArchiveRejectedError;
  }
  throw new Error('expected the parser to refuse the archive');
}

describe('Class: TarParser', () => {
  it('finds the same entries and bodies whatever the chunk boundaries', async () => {
    // Prepare
    const tar = await tarBuffer([
      { name: 'a/' },
      { name: 'a/one.bin', content: Buffer.alloc(1234, 1) },
      { name: `${'p'.repeat(120)}/two.bin`, content: Buffer.alloc(512, 2) },
      { name: 'three.txt', content: '' },
    ]);
    const expected = [
      { name: 'a/', kind: 'directory', size: 0, body: 0 },
      { name: 'a/one.bin', kind: 'file', size: 1234, body: 1234 },
      { name: `${'p'.repeat(120)}/two.bin`, kind: 'file', size: 512, body: 512 },
      { name: 'three.txt', kind: 'file', size: 0, body: 0 },
    ];

    // Act
    const results = [1, 7, 511, 512, 513, tar.length].map((size) => parse(tar, size));

    // Assess
    for (const result of results) expect(result).toEqual(expected);
  });

  it('reads base-256 sizes, as GNU tar writes them for files over 8 GiB', () => {
    // Prepare
    const header = rawTarHeader({ name: 'big.bin', typeflag: '0', format: 'gnu' });
    header.fill(0, 124, 136);
    header[124] = 0x80;
    header.writeUIntBE(1000, 130, 6);
    header.fill(0x20, 148, 156);
    const sum = header.reduce((total, byte) => total + byte, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    const tar = rawTar([header, Buffer.alloc(1024, 1)]);

    // Act
    const entries = parse(tar);

    // Assess
    expect(entries).toEqual([{ name: 'big.bin', kind: 'file', size: 1000, body: 1000 }]);
  });

  it('reads prefixed ustar names, GNU long names and v7 headers', () => {
    // Prepare
    const prefixed = rawTarEntry({ name: 'file.txt', prefix: 'some/prefix', typeflag: '0' }, 'p');
    const gnu = gnuLongNameEntry(`${'g'.repeat(150)}/x.bin`, 'g');
    const v7dir = rawTarEntry({ name: 'old/', typeflag: '\0', format: 'v7' });
    const v7file = rawTarEntry({ name: 'old/file', typeflag: '\0', format: 'v7' }, 'v');

    // Act
    const entries = parse(rawTar([prefixed, gnu, v7dir, v7file]));

    // Assess
    expect(entries.map(({ name, kind }) => [name, kind])).toEqual([
      ['some/prefix/file.txt', 'file'],
      [`${'g'.repeat(150)}/x.bin`, 'file'],
      ['old/', 'directory'],
      ['old/file', 'file'],
    ]);
  });

  it('applies global pax records to later entries and lets an empty local value cancel them', () => {
    // Prepare
    const global = rawTarEntry({ name: 'g', typeflag: 'g' }, paxRecords({ path: 'same-name.bin' }));
    const first = rawTarEntry({ name: 'ignored-1', typeflag: '0' }, 'a');
    const cancel = rawTarEntry({ name: 'x', typeflag: 'x' }, paxRecords({ path: '' }));
    const second = rawTarEntry({ name: 'own-name.bin', typeflag: '0' }, 'b');

    // Act
    const entries = parse(rawTar([global, first, cancel, second]));

    // Assess
    expect(entries.map((entry) => entry.name)).toEqual(['same-name.bin', 'own-name.bin']);
  });

  it('treats the first zero block as the end and ignores what follows', () => {
    // Prepare
    const tar = Buffer.concat([rawTarEntry({ name: 'a', typeflag: '0' }, 'a'), Buffer.alloc(512), Buffer.from('garbage'.repeat(200))]);

    // Act
    const entries = parse(tar, 100);

    // Assess
    expect(entries.map((entry) => entry.name)).toEqual(['a']);
  });

  it.each([
    ['a symlink', rawTarEntry({ name: 'l', typeflag: '2', linkname: 'x' }), 'symlink'],
    ['a GNU sparse file', rawTarEntry({ name: 's', typeflag: 'S' }), 'gnu-sparse'],
    ['a pax sparse file', Buffer.concat([rawTarEntry({ name: 'x', typeflag: 'x' }, paxRecords({ 'GNU.sparse.major': '1' })), rawTarEntry({ name: 's', typeflag: '0' })]), 'gnu-sparse'],
    ['a volume label', rawTarEntry({ name: 'v', typeflag: 'V' }), 'unknown'],
  ])('reports %s with its kind, for the checks to refuse', (_what, entry, kind) => {
    // Act
    const entries = parse(rawTar([entry]));

    // Assess
    expect(entries[0]?.kind).toBe(kind);
  });

  it.each([
    ['a bad checksum on the first header', rawTar([rawTarEntry({ name: 'a', typeflag: '0', badChecksum: true }, 'a')]), 'not-tar', /header at byte 0: not a tar header \(bad checksum\)/],
    [
      'a bad checksum later',
      rawTar([rawTarEntry({ name: 'a', typeflag: '0' }, 'a'), rawTarEntry({ name: 'b', typeflag: '0', badChecksum: true })]),
      'corrupt-tar',
      /header at byte 1024: checksum mismatch/,
    ],
    ['a directory with data', rawTar([rawTarEntry({ name: 'd/', typeflag: '5' }, 'data')]), 'corrupt-tar', /a directory with 4 bytes of data/],
    [
      'an oversized extended header',
      rawTar([rawTarHeader({ name: 'x', typeflag: 'x', size: 2 * 1024 * 1024 })]),
      'corrupt-tar',
      /an extended header of 2097152 bytes/,
    ],
    [
      'a flood of extended headers',
      rawTar(Array.from({ length: 9 }, () => rawTarEntry({ name: 'x', typeflag: 'x' }, paxRecords({ comment: 'c' })))),
      'corrupt-tar',
      /more than 8 extended headers before one entry/,
    ],
    ['a malformed pax record', rawTar([rawTarEntry({ name: 'x', typeflag: 'x' }, '99 path=a\n'), rawTarEntry({ name: 'a', typeflag: '0' })]), 'corrupt-tar', /malformed pax record length/],
    [
      'a pax size that is not a number',
      rawTar([rawTarEntry({ name: 'x', typeflag: 'x' }, paxRecords({ size: '12abc' })), rawTarEntry({ name: 'a', typeflag: '0' })]),
      'corrupt-tar',
      /the pax size "12abc" is not a whole number/,
    ],
    ['the end right after an extended header', rawTar([rawTarEntry({ name: 'x', typeflag: 'x' }, paxRecords({ path: 'a' }))]), 'corrupt-tar', /ends after an extended header/],
    [
      'bytes hidden after a NUL in the name field',
      rawTar([rawTarEntry({ name: Buffer.concat([Buffer.from('model.onnx'), Buffer.alloc(1), Buffer.from('../../evil')]), typeflag: '0' })]),
      'nul-in-name',
      /the name field hides bytes after a NUL/,
    ],
    ['a name that is not UTF-8', rawTar([rawTarEntry({ name: Buffer.from([0x6d, 0xff, 0xfe]), typeflag: '0' })]), 'name-encoding', /names must be UTF-8/],
    ['a header cut short', rawTarEntry({ name: 'a', typeflag: '0' }, 'a').subarray(0, 700), 'truncated-tar', /the archive stops inside an entry at byte 700/],
    ['fewer bytes than a header', Buffer.from('short'), 'not-tar', /the 5 decompressed bytes are shorter than one 512-byte tar header/],
  ])('refuses %s', (_what, tar, rule, message) => {
    // Act
    const error = parseError(tar);

    // Assess
    expect(error.rule).toBe(rule);
    expect(error.message).toMatch(message);
  });

  it('names the entry whose content is cut off', () => {
    // Prepare
    const tar = rawTarEntry({ name: 'weights.bin', typeflag: '0' }, Buffer.alloc(2000)).subarray(0, 1000);

    // Act
    const error = parseError(tar);

    // Assess
    expect(error.message).toBe('entry "weights.bin" rejected: truncated-tar (1512 bytes of its content are missing at byte 1000)');
  });

  it('accepts an archive of no entries as well-formed', () => {
    // Act
    const entries = parse(TAR_END);

    // Assess
    expect(entries).toEqual([]);
  });
});
