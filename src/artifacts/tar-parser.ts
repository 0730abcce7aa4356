import { ArchiveRejectedError } from './errors';

/**
 * A push parser of the tar format (POSIX ustar and pax, GNU long names, v7), fed with decompressed chunks.
 *
 * Why not tar-stream's extract: it ignores the end-of-archive marker, so it cannot tell harmless data after
 * the end (record padding, trailing bytes) from a corrupt header, nor notice an archive cut off exactly at an
 * entry boundary; it reads body-less entries (a directory with a size) differently from GNU tar, which is how
 * two parsers are made to disagree about what an archive holds; and it turns every entry into a stream,
 * which costs more than the inflating on multi-GB artifacts. This parser is strict where parsers differ,
 * synchronous, and hands out file bodies as views of the chunks it was given, never copies.
 */

/** What an entry is, from its type flag. Metadata records (pax, GNU long names) never surface as entries. */
export type TarEntryKind =
  | 'file'
  | 'directory'
  | 'hardlink'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'fifo'
  | 'gnu-sparse'
  | 'unknown';

/** One archive member, with pax and GNU long-name records already applied. */
export interface TarEntry {
  kind: TarEntryKind;
  /** The type flag character as written (`'0'`, `'5'`, `'2'`, ...; `'\0'` for old files). */
  typeflag: string;
  /** The name as written, decoded as UTF-8 (strictly: a name that is not UTF-8 is refused). */
  name: string;
  linkname: string;
  /** Body bytes that follow the header. */
  size: number;
  mode: number;
  /** Offset of the entry's first header in the uncompressed stream, for messages. */
  offset: number;
}

/** What one {@link TarParser.push} found, in stream order. `data` views the pushed chunk: use it before the next push. */
export type TarEvent =
  | { type: 'entry'; entry: TarEntry }
  | { type: 'data'; chunk: Buffer }
  | { type: 'entry-end' }
  | { type: 'archive-end' };

const BLOCK = 512;
/** pax and GNU long-name records are names and a few numbers; anything larger is not a real archive. */
const MAX_EXTENDED_RECORD_BYTES = 1024 * 1024;
/** Real writers put at most a global pax, a local pax and two GNU records before one entry. */
const MAX_EXTENDED_RECORDS_PER_ENTRY = 8;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const KIND_BY_TYPEFLAG: Record<string, TarEntryKind> = {
  '\0': 'file',
  '0': 'file',
  '7': 'file', // contiguous file: a regular file to every reader but a few 1980s systems
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  S: 'gnu-sparse',
};

type State = 'header' | 'body' | 'padding' | 'extended' | 'ended';

interface PendingExtended {
  pax: Map<string, string>;
  gnuName?: string;
  gnuLinkname?: string;
  records: number;
}

function emptyPending(): PendingExtended {
  return { pax: new Map(), records: 0 };
}

function isZeroBlock(block: Buffer): boolean {
  for (let index = 0; index < BLOCK; index += 1) if (block[index] !== 0) return false;
  return true;
}

/** A NUL-terminated header field; bytes after the terminator must be NUL too, or two readers see two names. */
function fieldBytes(block: Buffer, start: number, length: number): { bytes: Buffer; hiddenAfterNul: boolean } {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  if (end === -1) return { bytes: field, hiddenAfterNul: false };
  let hiddenAfterNul = false;
  for (let index = end + 1; index < field.length; index += 1) {
    if (field[index] !== 0) {
      hiddenAfterNul = true;
      break;
    }
  }
  return { bytes: field.subarray(0, end), hiddenAfterNul };
}

/** Octal (space or NUL terminated, leading spaces allowed) or GNU base-256; `undefined` when malformed. */
function parseNumber(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative base-256
    let value = first & 0x7f;
    for (let index = start + 1; index < start + length; index += 1) value = value * 256 + (block[index] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  let index = start;
  const end = start + length;
  while (index < end && block[index] === 0x20) index += 1;
  let value = 0;
  let digits = 0;
  for (; index < end; index += 1) {
    const byte = block[index] ?? 0;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) return undefined;
    value = value * 8 + (byte - 0x30);
    digits += 1;
  }
  for (; index < end; index += 1) if (block[index] !== 0 && block[index] !== 0x20) return undefined;
  if (digits === 0) return 0;
  return Number.isSafeInteger(value) ? value : undefined;
}

function checksumMatches(block: Buffer): boolean {
  const stored = parseNumber(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = index >= 148 && index < 156 ? 0x20 : (block[index] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some historical writers summed signed chars; GNU tar and Python accept both.
  return stored === unsigned || stored === signed;
}

function nameOf(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ArchiveRejectedError('name-encoding', 'names must be UTF-8', {
      entry: bytes.toString('latin1'),
    });
  }
}

/** Streaming tar decoder; see the module comment for why it is ours. */
export class TarParser {
  private state: State = 'header';
  private readonly headerBlock = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private current: TarEntry | undefined;
  private extendedType = '';
  private extendedChunks: Buffer[] = [];
  private extendedFill = 0;
  private pending = emptyPending();
  private globalPax = new Map<string, string>();
  private entryOffset = 0;
  private seenHeader = false;
  /** Uncompressed bytes consumed so far (offsets in messages). */
  position = 0;

  /** True once the end-of-archive marker was read; later bytes are drained unread. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Parses `chunk`, appending what it found to `events`. Throws {@link ArchiveRejectedError} on a format error. */
  push(chunk: Buffer, events: TarEvent[]): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      switch (this.state) {
        case 'ended':
          this.position += length - offset;
          return;
        case 'body': {
          const take = Math.min(this.remaining, length - offset);
          if (this.current?.kind === 'file') events.push({ type: 'data', chunk: chunk.subarray(offset, offset + take) });
          offset += take;
          this.position += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finishBody(events);
          break;
        }
        case 'padding': {
          const take = Math.min(this.padding, length - offset);
          offset += take;
          this.position += take;
          this.padding -= take;
          if (this.padding === 0) this.state = 'header';
          break;
        }
        case 'extended': {
          const take = Math.min(this.remaining, length - offset);
          this.extendedChunks.push(Buffer.from(chunk.subarray(offset, offset + take)));
          this.extendedFill += take;
          offset += take;
          this.position += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finishExtended();
          break;
        }
        case 'header': {
          let block: Buffer;
          if (this.headerFill === 0 && length - offset >= BLOCK) {
            block = chunk.subarray(offset, offset + BLOCK);
            offset += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.headerFill, length - offset);
            chunk.copy(this.headerBlock, this.headerFill, offset, offset + take);
            this.headerFill += take;
            offset += take;
            if (this.headerFill < BLOCK) break;
            block = this.headerBlock;
            this.headerFill = 0;
          }
          if (this.pending.records === 0) this.entryOffset = this.position;
          this.position += BLOCK;
          this.header(block, events);
          break;
        }
      }
    }
  }

  /**
   * Declares the decompressed stream over.
   *
   * @throws {ArchiveRejectedError} `not-tar` when nothing tar-shaped was seen, `truncated-tar` when the stream
   *   stops inside an entry or before the end-of-archive marker.
   */
  end(): void {
    if (this.state === 'ended') return;
    const position = this.position + this.headerFill;
    if (!this.seenHeader) {
      const reason =
        position === 0
          ? 'the gzip data is empty, it holds no tar archive'
          : `the ${position} decompressed bytes are shorter than one 512-byte tar header`;
      throw new ArchiveRejectedError('not-tar', reason);
    }
    if (this.state === 'body' || this.state === 'padding' || this.state === 'extended' || this.headerFill > 0) {
      const entry = this.current?.name;
      const what = this.state === 'body' ? `${this.remaining} bytes of its content are missing` : 'the archive stops inside an entry';
      throw new ArchiveRejectedError('truncated-tar', `${what} at byte ${position}`, entry === undefined ? {} : { entry });
    }
    throw new ArchiveRejectedError('truncated-tar', `the archive ends at byte ${position} without the end-of-archive marker`);
  }

  private corrupt(reason: string, entry?: string): never {
    const rule = this.seenHeader ? 'corrupt-tar' : 'not-tar';
    const where = `header at byte ${this.entryOffset}`;
    throw new ArchiveRejectedError(rule, `${where}: ${reason}`, entry === undefined ? {} : { entry });
  }

  private header(block: Buffer, events: TarEvent[]): void {
    if (isZeroBlock(block)) {
      if (!this.seenHeader) this.seenHeader = true; // an archive of no entries is well-formed, just empty
      if (this.pending.records > 0) this.corrupt('the archive ends after an extended header, before its entry');
      this.state = 'ended';
      events.push({ type: 'archive-end' });
      return;
    }
    if (!checksumMatches(block)) {
      this.corrupt(this.seenHeader ? 'checksum mismatch' : 'not a tar header (bad checksum)');
    }
    const magic = block.toString('latin1', 257, 263);
    const format = magic === 'ustar\0' ? 'ustar' : magic === 'ustar ' ? 'gnu' : 'v7';
    this.seenHeader = true;

    const typeflag = String.fromCharCode(block[156] ?? 0);
    const size = parseNumber(block, 124, 12);
    if (size === undefined) this.corrupt('the size field is not a number');
    const mode = parseNumber(block, 100, 8) ?? 0;

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      this.pending.records += 1;
      if (this.pending.records > MAX_EXTENDED_RECORDS_PER_ENTRY) {
        this.corrupt(`more than ${MAX_EXTENDED_RECORDS_PER_ENTRY} extended headers before one entry`);
      }
      if (size > MAX_EXTENDED_RECORD_BYTES) {
        this.corrupt(`an extended header of ${size} bytes (at most ${MAX_EXTENDED_RECORD_BYTES})`);
      }
      this.extendedType = typeflag;
      this.extendedChunks = [];
      this.extendedFill = 0;
      this.remaining = size;
      this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (size === 0) this.finishExtended();
      else this.state = 'extended';
      return;
    }

    const nameField = fieldBytes(block, 0, 100);
    let nameBytes = nameField.bytes;
    let hidden = nameField.hiddenAfterNul;
    if (format === 'ustar') {
      const prefix = fieldBytes(block, 345, 155);
      hidden ||= prefix.hiddenAfterNul;
      if (prefix.bytes.length > 0) nameBytes = Buffer.concat([prefix.bytes, Buffer.from('/'), nameBytes]);
    }
    const linkField = fieldBytes(block, 157, 100);

    const pax = new Map([...this.globalPax, ...this.pending.pax]);
    // An empty local value cancels a global one for this entry, per POSIX.
    for (const [key, value] of pax) if (value === '') pax.delete(key);
    let name = this.pending.gnuName ?? nameOf(nameBytes);
    const paxPath = pax.get('path');
    if (paxPath !== undefined) name = paxPath;
    else if (this.pending.gnuName === undefined && hidden) {
      throw new ArchiveRejectedError('nul-in-name', 'the name field hides bytes after a NUL', {
        entry: `${name}\u0000${block.toString('latin1', nameBytes.length, 100).replace(/\0+$/, '')}`,
      });
    }
    const linkname = pax.get('linkpath') ?? this.pending.gnuLinkname ?? linkField.bytes.toString('utf8');

    let entrySize = size;
    const paxSize = pax.get('size');
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        this.corrupt(`the pax size ${JSON.stringify(paxSize)} is not a whole number`, name);
      }
      entrySize = Number(paxSize);
    }

    let kind: TarEntryKind = KIND_BY_TYPEFLAG[typeflag] ?? 'unknown';
    if (kind === 'file' && [...pax.keys()].some((key) => key.startsWith('GNU.sparse.'))) kind = 'gnu-sparse';
    if (kind === 'file' && (typeflag === '\0' || typeflag === '0') && name.endsWith('/') && entrySize === 0) {
      kind = 'directory'; // v7 archives mark directories only by the trailing slash
    }
    if (kind === 'directory' && entrySize !== 0) {
      this.corrupt(`a directory with ${entrySize} bytes of data (readers disagree on whether to skip them)`, name);
    }

    const entry: TarEntry = { kind, typeflag, name, linkname, size: entrySize, mode, offset: this.entryOffset };
    this.pending = emptyPending();
    this.current = entry;
    this.remaining = entrySize;
    this.padding = (BLOCK - (entrySize % BLOCK)) % BLOCK;
    events.push({ type: 'entry', entry });
    if (entrySize === 0) this.finishBody(events);
    else this.state = 'body';
  }

  private finishBody(events: TarEvent[]): void {
    events.push({ type: 'entry-end' });
    this.current = undefined;
    this.state = this.padding > 0 ? 'padding' : 'header';
  }

  private finishExtended(): void {
    const data = Buffer.concat(this.extendedChunks, this.extendedFill);
    this.extendedChunks = [];
    if (this.extendedType === 'L' || this.extendedType === 'K') {
      const end = data.indexOf(0);
      const bytes = end === -1 ? data : data.subarray(0, end);
      const value = nameOf(bytes);
      if (end !== -1 && data.subarray(end).some((byte) => byte !== 0)) {
        throw new ArchiveRejectedError('nul-in-name', 'the GNU long name holds a NUL', {
          entry: data.toString('utf8').replace(/\0+$/, ''),
        });
      }
      if (this.extendedType === 'L') this.pending.gnuName = value;
      else this.pending.gnuLinkname = value;
    } else {
      for (const [key, value] of this.parsePax(data)) {
        if (this.extendedType === 'x') this.pending.pax.set(key, value);
        else if (value === '') this.globalPax.delete(key);
        else this.globalPax.set(key, value);
      }
    }
    this.state = this.padding > 0 ? 'padding' : 'header';
  }

  private parsePax(data: Buffer): Map<string, string> {
    const records = new Map<string, string>();
    let offset = 0;
    while (offset < data.length) {
      if (data[offset] === 0) break; // some writers pad the record block with NULs
      const space = data.indexOf(0x20, offset);
      const lengthText = space === -1 ? '' : data.toString('latin1', offset, space);
      const length = /^\d+$/.test(lengthText) ? Number(lengthText) : Number.NaN;
      if (!Number.isSafeInteger(length) || length <= space - offset + 1 || offset + length > data.length) {
        this.corrupt('a malformed pax record length');
      }
      const record = data.subarray(space + 1, offset + length);
      if (record[record.length - 1] !== 0x0a) this.corrupt('a pax record without its newline');
      const equals = record.indexOf(0x3d);
      if (equals <= 0) this.corrupt('a pax record without a key');
      const key = record.toString('utf8', 0, equals);
      let value: string;
      try {
        value = utf8.decode(record.subarray(equals + 1, record.length - 1));
      } catch {
        if (key === 'path' || key === 'linkpath') {
          throw new ArchiveRejectedError('name-encoding', 'names must be UTF-8', {
            entry: record.toString('latin1', equals + 1, record.length - 1),
          });
        }
        this.corrupt(`the pax record ${JSON.stringify(key)} is not UTF-8`);
      }
      records.set(key, value);
      offset += length;
    }
    return records;
  }
}
