/**
 * How batch transform cuts an input object into records (`SplitType`) and puts records back together into
 * one request (`MultiRecord`): `None` keeps the object whole, `Line` splits after each `\n`, `RecordIO`
 * reads MXNet RecordIO frames (magic `0xced7230a`, a 29-bit length with a 3-bit continuation flag, data
 * padded to 4 bytes).
 */

export type SplitType = 'None' | 'Line' | 'RecordIO';

/** An input object that is not what its `SplitType` says; the message names the offset. */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
}

const RECORDIO_MAGIC = 0xced7230a;
const LENGTH_MASK = (1 << 29) - 1;

function splitLines(data: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let start = 0;
  for (;;) {
    const newline = data.indexOf(10, start);
    if (newline < 0) break;
    records.push(data.subarray(start, newline));
    start = newline + 1;
  }
  // A last line without a newline is a record; the empty tail after a final newline is not.
  if (start < data.length) records.push(data.subarray(start));
  return records;
}

function splitRecordIO(data: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let parts: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 8 > data.length) throw new RecordFormatError(`RecordIO: ${data.length - offset} stray bytes at offset ${offset}, too few for a record header`);
    const magic = data.readUInt32LE(offset);
    if (magic !== RECORDIO_MAGIC) throw new RecordFormatError(`RecordIO: no record magic 0xced7230a at offset ${offset}`);
    const header = data.readUInt32LE(offset + 4);
    const flag = header >>> 29;
    const length = header & LENGTH_MASK;
    const start = offset + 8;
    if (start + length > data.length) throw new RecordFormatError(`RecordIO: the record at offset ${offset} says ${length} bytes, only ${data.length - start} remain`);
    const payload = data.subarray(start, start + length);
    offset = start + length + ((4 - (length % 4)) % 4);
    // Flags 1-3 carry a record that contained the magic number: start, middle, end, joined by the magic.
    if (flag === 0) records.push(payload);
    else if (flag === 1) parts = [payload];
    else if (flag === 2) parts.push(payload);
    else if (flag === 3) {
      parts.push(payload);
      const magicBytes = Buffer.alloc(4);
      magicBytes.writeUInt32LE(RECORDIO_MAGIC);
      records.push(Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [magicBytes, p]))));
      parts = [];
    } else throw new RecordFormatError(`RecordIO: unknown continuation flag ${flag} at offset ${offset}`);
  }
  return records;
}

/** Cuts `data` into records; an empty object has none. */
export function splitRecords(data: Buffer, split: SplitType): Buffer[] {
  if (data.length === 0) return [];
  if (split === 'Line') return splitLines(data);
  if (split === 'RecordIO') return splitRecordIO(data);
  return [data];
}

/** One record as a RecordIO frame. */
export function recordIOFrame(record: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(RECORDIO_MAGIC, 0);
  header.writeUInt32LE(record.length & LENGTH_MASK, 4);
  const padding = Buffer.alloc((4 - (record.length % 4)) % 4);
  return Buffer.concat([header, record, padding]);
}

/** The bytes a record adds to a request body beyond its own: a newline for `Line`, a frame for `RecordIO`. */
export function framingBytes(split: SplitType, record: Buffer): number {
  if (split === 'Line') return 1;
  if (split === 'RecordIO') return 8 + ((4 - (record.length % 4)) % 4);
  return 0;
}

/** Joins records into one request body, in the framing of their split type. */
export function joinRecords(records: Buffer[], split: SplitType): Buffer {
  if (split === 'RecordIO') return Buffer.concat(records.map(recordIOFrame));
  if (split === 'Line') {
    const parts: Buffer[] = [];
    const newline = Buffer.from('\n');
    for (const record of records) parts.push(record, newline);
    return Buffer.concat(parts);
  }
  return Buffer.concat(records);
}

/** One line is longer than the payload limit (its number is 1-based; `bytes` counts its newline). */
export class LineTooLargeError extends Error {
  override readonly name = 'LineTooLargeError';
  constructor(
    readonly line: number,
    readonly bytes: number,
  ) {
    super(`line ${line} is ${bytes} bytes`);
  }
}

/** A run of consecutive lines of one object and the request body that carries them. */
export interface LineBatch {
  body: Buffer;
  /** 1-based number of the first line. */
  first: number;
  count: number;
}

/**
 * `Line` records batched straight from the object's bytes: each batch is the longest run of whole lines
 * whose bytes, newlines included, fit in `maxPayloadBytes` (one line each when `singleRecord`). The bodies
 * are exactly what `joinRecords(splitRecords(data, 'Line'), 'Line')` gives batch by batch, but are views of
 * `data` (only a last line without its newline is copied, to add one), and no object is made per line:
 * a large CSV object is hundreds of thousands of lines.
 *
 * @throws {LineTooLargeError} for the first line that does not fit on its own.
 */
export function lineBatches(data: Buffer, maxPayloadBytes: number, singleRecord: boolean): LineBatch[] {
  const batches: LineBatch[] = [];
  let start = 0;
  let first = 1;
  let count = 0;
  let line = 0;
  let offset = 0;
  const flush = (end: number) => {
    const body = end <= data.length ? data.subarray(start, end) : Buffer.concat([data.subarray(start), Buffer.from('\n')]);
    batches.push({ body, first, count });
  };
  while (offset < data.length) {
    const newline = data.indexOf(10, offset);
    // Where this line's bytes end once it is framed: after its newline, or one past the data for a last
    // line that has none (the framing adds it).
    const end = newline < 0 ? data.length + 1 : newline + 1;
    line += 1;
    if (end - offset > maxPayloadBytes) throw new LineTooLargeError(line, end - offset);
    if (count > 0 && (singleRecord || end - start > maxPayloadBytes)) {
      flush(offset);
      start = offset;
      first = line;
      count = 0;
    }
    count += 1;
    offset = end;
  }
  if (count > 0) flush(offset);
  return batches;
}
