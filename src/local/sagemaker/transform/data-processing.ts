/**
 * Batch transform's `DataProcessing`, record by record, as SageMaker documents it:
 * - `InputFilter` selects part of each input record before it is sent (a CSV record is a JSON array of cells);
 * - `JoinSource: Input` joins each record with its prediction: CSV rows get the prediction's cells appended;
 *   a JSON object gets the prediction under `SageMakerOutput`, any other JSON value becomes
 *   `{"SageMakerInput": value, "SageMakerOutput": prediction}`;
 * - `OutputFilter` selects part of the joined record (or of the prediction when nothing is joined).
 * Only CSV and JSON (Lines) records can be filtered or joined; other content types fail the job with a reason.
 */
import { csvCells, mediaType } from '../onnx-container/codec';
import type { JsonPath } from './json-path';

export type RecordFormat = 'csv' | 'json';

/** A record the filters cannot read (not CSV or JSON, or malformed); the job fails with this reason. */
export class RecordProcessingError extends Error {
  override readonly name = 'RecordProcessingError';
}

/** The record format of a content type, or `undefined` when records of that type cannot be filtered or joined. */
export function recordFormat(contentType: string | undefined): RecordFormat | undefined {
  const type = mediaType(contentType);
  if (type === 'text/csv') return 'csv';
  if (type === 'application/json' || type === 'application/jsonlines' || type === 'application/x-jsonlines' || type === 'application/json-lines') return 'json';
  return undefined;
}

function parseCsvLine(line: string): string[] {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cells = csvCells(text);
  if (!cells) throw new RecordProcessingError(`the CSV record ${JSON.stringify(text.slice(0, 80))} has an unterminated quote`);
  return cells;
}

function csvCell(value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function parse(record: Buffer, format: RecordFormat): unknown {
  const text = record.toString('utf8');
  if (format === 'csv') return parseCsvLine(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new RecordProcessingError(`the record ${JSON.stringify(text.slice(0, 80))} is not valid JSON`);
  }
}

function serialize(value: unknown, format: RecordFormat): Buffer {
  if (format === 'csv' && typeof value !== 'object') return Buffer.from(csvCell(value));
  if (format === 'csv' && Array.isArray(value)) return Buffer.from(value.map(csvCell).join(','));
  return Buffer.from(JSON.stringify(value ?? null));
}

/** Applies `InputFilter` to one record. */
export function filterInput(record: Buffer, format: RecordFormat, filter: JsonPath): Buffer {
  if (filter.isRoot) return record;
  return serialize(filter.select(parse(record, format)), format);
}

export interface OutputProcessing {
  /** Format of the input records (what is joined with). */
  inputFormat: RecordFormat | undefined;
  /** Format of the container's answers (from `Accept`). */
  outputFormat: RecordFormat | undefined;
  join: boolean;
  outputFilter: JsonPath | undefined;
}

/** Joins one prediction with its input record and applies `OutputFilter`, giving the record to write. */
export function processOutput(input: Buffer, output: Buffer, plan: OutputProcessing): Buffer {
  const outputText = output.toString('utf8').replace(/\r?\n$/, '');
  let prediction: unknown;
  if (plan.outputFormat === 'csv') prediction = parseCsvLine(outputText);
  else if (plan.outputFormat === 'json') prediction = parse(Buffer.from(outputText), 'json');
  else prediction = outputText;
  let joined = prediction;
  let format = plan.outputFormat ?? 'json';
  if (plan.join) {
    if (!plan.inputFormat) throw new RecordProcessingError('JoinSource Input needs CSV or JSON input records');
    const source = parse(input, plan.inputFormat);
    format = plan.inputFormat;
    if (plan.inputFormat === 'csv') joined = [...(source as string[]), ...(Array.isArray(prediction) ? prediction : [prediction])];
    else if (typeof source === 'object' && source !== null && !Array.isArray(source)) joined = { ...source, SageMakerOutput: prediction };
    else joined = { SageMakerInput: source, SageMakerOutput: prediction };
  }
  const selected = plan.outputFilter && !plan.outputFilter.isRoot ? plan.outputFilter.select(joined) : joined;
  return serialize(selected, format);
}
