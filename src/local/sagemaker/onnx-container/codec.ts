/**
 * The built-in ONNX container's wire format (DESIGN.md §3): `application/json` as `{"instances": rows}`,
 * `{"inputs": rows}` or `{"predictions": rows}` (so JSON chains through a serial pipeline), a bare array of
 * rows, or `text/csv` with one row per line; answers `{"predictions": rows}` or CSV by `Accept`.
 *
 * Pure functions over bytes and plain tensors, so the rules can be tested without a process or a model.
 */

/** A request the container cannot serve; `status` is what the container answers (400, 406, 415). */
export class ContainerRequestError extends Error {
  override readonly name = 'ContainerRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Element types the container reads and writes, as onnxruntime names them. */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'string' | 'bool' | 'uint8' | 'int8';

/** What the container knows about a graph input from the model's metadata. */
export interface InputSpec {
  name: string;
  type: TensorType;
  /** Declared rank (0 when the model does not say). */
  rank: number;
}

/** A tensor's content before it becomes an `ort.Tensor`. */
export interface TensorData {
  type: TensorType;
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | string[] | boolean[];
  dims: number[];
}

type Cell = number | string | boolean;
type Row = Cell | Row[];

export const JSON_CONTENT_TYPE = 'application/json';
export const CSV_CONTENT_TYPE = 'text/csv';

/** The media type without parameters, lower-cased (`text/csv; charset=utf-8` → `text/csv`). */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseCsv(text: string): Row[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new ContainerRequestError(400, 'text/csv body has no rows');
  return lines.map((line, i) => {
    if (line === '') throw new ContainerRequestError(400, `text/csv line ${i + 1} is empty`);
    return splitCsvLine(line, i + 1);
  });
}

function splitCsvLine(line: string, lineNumber: number): string[] {
  const cells = csvCells(line);
  if (!cells) throw new ContainerRequestError(400, `text/csv line ${lineNumber} has an unterminated quote`);
  return cells;
}

/**
 * The cells of one CSV line (RFC 4180 quoting: a quoted cell may hold commas and `""` for a quote), or
 * `undefined` when a quote is left open; callers word that error for their own callers.
 */
export function csvCells(line: string): string[] | undefined {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (quoted) return undefined;
  cells.push(cell);
  return cells;
}

function rowsFromJson(body: unknown, inputs: InputSpec[]): Map<string, Row[]> {
  const single = (rows: unknown, where: string): Map<string, Row[]> => {
    if (!Array.isArray(rows)) throw new ContainerRequestError(400, `${where} must be an array of rows`);
    if (inputs.length !== 1) {
      throw new ContainerRequestError(
        400,
        `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); send {"inputs": {"<input name>": rows, ...}}`,
      );
    }
    return new Map([[inputs[0]!.name, rows as Row[]]]);
  };
  if (Array.isArray(body)) return single(body, 'the JSON body');
  if (typeof body !== 'object' || body === null) {
    throw new ContainerRequestError(400, 'the JSON body must be an array of rows or an object with "instances", "inputs" or "predictions"');
  }
  const record = body as Record<string, unknown>;
  for (const key of ['instances', 'inputs', 'predictions']) {
    if (!(key in record)) continue;
    const value = record[key];
    if (key === 'inputs' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const named = new Map<string, Row[]>();
      for (const [name, rows] of Object.entries(value)) {
        if (!inputs.some((i) => i.name === name)) {
          throw new ContainerRequestError(400, `"inputs" names ${JSON.stringify(name)}, which is not an input of the model (${inputs.map((i) => i.name).join(', ')})`);
        }
        if (!Array.isArray(rows)) throw new ContainerRequestError(400, `"inputs".${name} must be an array of rows`);
        named.set(name, rows as Row[]);
      }
      for (const input of inputs) {
        if (!named.has(input.name)) throw new ContainerRequestError(400, `"inputs" lacks the model input ${JSON.stringify(input.name)}`);
      }
      return named;
    }
    return single(value, `"${key}"`);
  }
  throw new ContainerRequestError(400, 'the JSON body must be an array of rows or an object with "instances", "inputs" or "predictions"');
}

function shapeOf(row: Row, where: string): number[] {
  if (!Array.isArray(row)) return [];
  if (row.length === 0) throw new ContainerRequestError(400, `${where} is an empty array`);
  const inner = shapeOf(row[0]!, `${where}[0]`);
  row.forEach((cell, i) => {
    const s = shapeOf(cell, `${where}[${i}]`);
    if (s.length !== inner.length || s.some((d, k) => d !== inner[k])) {
      throw new ContainerRequestError(400, `${where}[${i}] has a different shape from ${where}[0]`);
    }
  });
  return [row.length, ...inner];
}

function convertCell(cell: Cell, type: TensorType, where: string): number | bigint | string | boolean {
  if (type === 'string') return typeof cell === 'string' ? cell : String(cell);
  if (type === 'bool') {
    if (typeof cell === 'boolean') return cell;
    if (cell === 'true' || cell === '1' || cell === 1) return true;
    if (cell === 'false' || cell === '0' || cell === 0) return false;
    throw new ContainerRequestError(400, `${where} must be a boolean, got ${JSON.stringify(cell)}`);
  }
  const n = typeof cell === 'number' ? cell : typeof cell === 'string' && cell.trim() !== '' ? Number(cell) : Number.NaN;
  if (Number.isNaN(n) && !(typeof cell === 'string' && cell.trim().toLowerCase() === 'nan')) {
    throw new ContainerRequestError(400, `${where} must be a number, got ${JSON.stringify(cell)}`);
  }
  if (type === 'float32' || type === 'float64') return n;
  if (!Number.isInteger(n)) throw new ContainerRequestError(400, `${where} must be an integer for a ${type} input, got ${JSON.stringify(cell)}`);
  return type === 'int64' ? BigInt(n) : n;
}

/**
 * The common JSON request, decoded without the per-cell bookkeeping the general path needs to word its
 * errors: rows of plain numbers, all as wide, for a float or int32 input of rank 2 (or undeclared rank).
 * `undefined` for anything else (including a non-integer for int32), which the general path then decodes.
 */
function fastNumericRows(rows: Row[], input: InputSpec): TensorData | undefined {
  if (input.rank !== 2 && input.rank !== 0) return undefined;
  const first = rows[0];
  if (!Array.isArray(first) || first.length === 0) return undefined;
  const width = first.length;
  const size = rows.length * width;
  let data: Float32Array | Float64Array | Int32Array;
  if (input.type === 'float32') data = new Float32Array(size);
  else if (input.type === 'float64') data = new Float64Array(size);
  else if (input.type === 'int32') data = new Int32Array(size);
  else return undefined;
  const integers = input.type === 'int32';
  let k = 0;
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== width) return undefined;
    for (let j = 0; j < width; j++) {
      const cell = row[j];
      if (typeof cell !== 'number' || (integers && !Number.isInteger(cell))) return undefined;
      data[k++] = cell;
    }
  }
  return { type: input.type, data, dims: [rows.length, width] };
}

function toTensor(rows: Row[], input: InputSpec): TensorData {
  const fast = fastNumericRows(rows, input);
  if (fast) return fast;
  if (rows.length === 0) throw new ContainerRequestError(400, `no rows for input ${JSON.stringify(input.name)}`);
  // A rank-1 input takes one scalar per row; CSV and JSON both may wrap it in a one-cell row.
  const normalized = input.rank === 1 ? rows.map((r) => (Array.isArray(r) && r.length === 1 ? r[0]! : r)) : rows;
  const rowShape = shapeOf(normalized[0]!, 'row 0');
  normalized.forEach((row, i) => {
    const s = shapeOf(row, `row ${i}`);
    if (s.length !== rowShape.length || s.some((d, k) => d !== rowShape[k])) {
      throw new ContainerRequestError(400, `row ${i} has shape [${s.join(', ')}], row 0 has [${rowShape.join(', ')}]`);
    }
  });
  const dims = [normalized.length, ...rowShape];
  if (input.rank > 0 && dims.length !== input.rank) {
    throw new ContainerRequestError(
      400,
      `input ${JSON.stringify(input.name)} has rank ${input.rank}, the rows make a tensor of shape [${dims.join(', ')}]`,
    );
  }
  const flat: { cell: Cell; where: string }[] = [];
  const walk = (row: Row, where: string) => {
    if (Array.isArray(row)) row.forEach((c, k) => walk(c, `${where}[${k}]`));
    else flat.push({ cell: row, where });
  };
  normalized.forEach((row, i) => walk(row, `row ${i}`));
  const values = flat.map(({ cell, where }) => convertCell(cell, input.type, where));
  const data = (() => {
    switch (input.type) {
      case 'float32':
        return Float32Array.from(values as number[]);
      case 'float64':
        return Float64Array.from(values as number[]);
      case 'int32':
        return Int32Array.from(values as number[]);
      case 'int64':
        return BigInt64Array.from(values as bigint[]);
      case 'uint8':
        return Uint8Array.from(values as number[]);
      case 'int8':
        return Int8Array.from(values as number[]);
      case 'bool':
        return values as boolean[];
      case 'string':
        return values as string[];
    }
  })();
  return { type: input.type, data, dims };
}

/**
 * The common case of batch transform and CSV clients, decoded without building rows of cells: plain
 * numbers (no quotes) for one float input of rank 2 (or undeclared rank). `undefined` when the body is
 * anything else, so the general path decodes it and words any error.
 */
function fastNumericCsv(text: string, input: InputSpec): TensorData | undefined {
  if ((input.type !== 'float32' && input.type !== 'float64') || (input.rank !== 2 && input.rank !== 0) || text.includes('"')) return undefined;
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 10 || text.charCodeAt(end - 1) === 13)) end--;
  if (end === 0) return undefined;
  const firstBreak = text.indexOf('\n');
  const firstLine = firstBreak < 0 || firstBreak > end ? text.slice(0, end) : text.slice(0, firstBreak);
  const width = firstLine.split(',').length;
  const values: number[] = [];
  let rows = 0;
  let start = 0;
  while (start <= end) {
    let stop = text.indexOf('\n', start);
    if (stop < 0 || stop > end) stop = end;
    let lineEnd = stop;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    let cells = 0;
    let cellStart = start;
    for (let i = start; i <= lineEnd; i++) {
      if (i === lineEnd || text.charCodeAt(i) === 44) {
        const cell = text.slice(cellStart, i);
        const value = Number(cell);
        // Number() reads an empty or blank cell as 0 and anything unreadable as NaN; only those two values
        // need a second look, so the common cell costs one slice and one conversion.
        if (value === 0 ? cell.trim() === '' : Number.isNaN(value) && cell.trim().toLowerCase() !== 'nan') return undefined;
        values.push(value);
        cells++;
        cellStart = i + 1;
      }
    }
    if (cells !== width) return undefined;
    rows++;
    start = stop + 1;
  }
  const data = input.type === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  return { type: input.type, data, dims: [rows, width] };
}

/**
 * Decodes a request body into one tensor per model input.
 *
 * @throws {ContainerRequestError} 415 for a content type other than JSON or CSV, 400 for malformed rows.
 */
export function decodeRequest(body: Buffer, contentType: string | undefined, inputs: InputSpec[]): Map<string, TensorData> {
  const type = mediaType(contentType) || JSON_CONTENT_TYPE;
  let rows: Map<string, Row[]>;
  if (type === JSON_CONTENT_TYPE) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new ContainerRequestError(400, `the body is not valid JSON: ${(error as Error).message}`);
    }
    rows = rowsFromJson(parsed, inputs);
  } else if (type === CSV_CONTENT_TYPE) {
    if (inputs.length !== 1) throw new ContainerRequestError(400, `text/csv needs a model with one input; this one has ${inputs.length}`);
    const text = body.toString('utf8');
    const fast = fastNumericCsv(text, inputs[0]!);
    if (fast) return new Map([[inputs[0]!.name, fast]]);
    rows = new Map([[inputs[0]!.name, parseCsv(text)]]);
  } else {
    throw new ContainerRequestError(415, `content type ${JSON.stringify(contentType)} is not supported; use application/json or text/csv`);
  }
  const tensors = new Map<string, TensorData>();
  for (const input of inputs) tensors.set(input.name, toTensor(rows.get(input.name)!, input));
  return tensors;
}

function jsonCell(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** Splits a flat tensor into rows along its first dimension, each row nested by the remaining ones. */
export function tensorRows(data: ArrayLike<unknown>, dims: readonly number[]): unknown[] {
  const values = Array.from(data, jsonCell);
  if (dims.length === 0) return values;
  const nest = (offset: number, shape: readonly number[]): unknown => {
    if (shape.length === 0) return values[offset];
    const [size, ...rest] = shape;
    const stride = rest.reduce((a, b) => a * b, 1);
    return Array.from({ length: size! }, (_, i) => nest(offset + i * stride, rest));
  };
  const [rows, ...rest] = dims;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: rows! }, (_, i) => nest(i * stride, rest));
}

function csvCell(value: unknown): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The content type the container answers with for an `Accept` header. */
export function responseType(accept: string | undefined): string {
  const wanted = (accept ?? '').split(',').map(mediaType).filter((t) => t !== '');
  if (wanted.length === 0) return JSON_CONTENT_TYPE;
  for (const type of wanted) {
    if (type === JSON_CONTENT_TYPE || type === '*/*' || type === 'application/*') return JSON_CONTENT_TYPE;
    if (type === CSV_CONTENT_TYPE || type === 'text/*') return CSV_CONTENT_TYPE;
  }
  throw new ContainerRequestError(406, `accept ${JSON.stringify(accept)} is not supported; use application/json or text/csv`);
}

/**
 * `{"predictions": rows}` for a numeric tensor of rank 1 or 2, written straight from the typed array: the
 * text `JSON.stringify` gives for the rows {@link tensorRows} builds (a number as `String` writes it, a
 * non-finite one as a string, as {@link jsonCell} has it), without building the rows.
 */
function numericJson(data: Float32Array | Float64Array | Int32Array, dims: readonly number[]): string {
  const cell = (value: number) => (Number.isFinite(value) ? String(value) : `"${String(value)}"`);
  let text = '{"predictions":[';
  if (dims.length === 1) {
    for (let i = 0; i < data.length; i++) text += (i === 0 ? '' : ',') + cell(data[i]!);
    return `${text}]}`;
  }
  const rows = dims[0]!;
  const width = dims[1]!;
  for (let r = 0; r < rows; r++) {
    text += r === 0 ? '[' : ',[';
    for (let k = 0; k < width; k++) text += (k === 0 ? '' : ',') + cell(data[r * width + k]!);
    text += ']';
  }
  return `${text}]}`;
}

/** Encodes an output tensor as `{"predictions": rows}` or as CSV, one row per line. */
export function encodeResponse(data: ArrayLike<unknown>, dims: readonly number[], contentType: string): Buffer {
  if (contentType === CSV_CONTENT_TYPE && (data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array) && dims.length >= 1) {
    // Numbers need no quoting: write the lines straight from the typed array, one row per first-dimension entry.
    const rowCount = dims[0]!;
    const width = rowCount === 0 ? 0 : data.length / rowCount;
    const lines = new Array<string>(rowCount);
    for (let r = 0; r < rowCount; r++) {
      let line = '';
      for (let k = 0; k < width; k++) line += (k === 0 ? '' : ',') + String(data[r * width + k]);
      lines[r] = line;
    }
    return Buffer.from(lines.join('\n') + '\n', 'utf8');
  }
  if (contentType !== CSV_CONTENT_TYPE && (data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array) && (dims.length === 1 || dims.length === 2)) {
    return Buffer.from(numericJson(data, dims), 'latin1');
  }
  const rows = tensorRows(data, dims);
  if (contentType === CSV_CONTENT_TYPE) {
    const flatten = (row: unknown): unknown[] => (Array.isArray(row) ? row.flatMap(flatten) : [row]);
    return Buffer.from(rows.map((row) => flatten(row).map(csvCell).join(',')).join('\n') + '\n', 'utf8');
  }
  return Buffer.from(JSON.stringify({ predictions: rows }), 'utf8');
}
