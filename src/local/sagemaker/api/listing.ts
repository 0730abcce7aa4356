/** `List*` paging, sorting and filtering, shared by every list operation. */
import type { ResourceRecord } from '../state/state-store';
import { constraintError, optionalEnum, optionalInteger, optionalNumber, optionalString, type Input } from './validate';

export interface ListSpec {
  /** Sort keys the operation accepts, mapped to record fields. */
  sortFields: Record<string, string>;
  defaultSort: string;
  nameField: string;
  statusField?: string;
}

function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw constraintError('NextToken', token, 'Member must be a token returned by a previous call');
  return offset;
}

/** Applies the standard list inputs to `records` and returns one page and the next token. */
export function listPage(records: ResourceRecord[], input: Input, spec: ListSpec): { items: ResourceRecord[]; NextToken?: string } {
  const sortBy = optionalEnum(input, 'SortBy', 'SortBy', Object.keys(spec.sortFields)) ?? spec.defaultSort;
  const order = optionalEnum(input, 'SortOrder', 'SortOrder', ['Ascending', 'Descending'] as const) ?? 'Descending';
  const max = optionalInteger(input, 'MaxResults', 'MaxResults', 1, 100) ?? 10;
  const offset = decodeToken(optionalString(input, 'NextToken', 'NextToken', 8192));
  const nameContains = optionalString(input, 'NameContains', 'NameContains', 63);
  const createdAfter = optionalNumber(input, 'CreationTimeAfter', 'CreationTimeAfter', 0);
  const createdBefore = optionalNumber(input, 'CreationTimeBefore', 'CreationTimeBefore', 0);
  const modifiedAfter = optionalNumber(input, 'LastModifiedTimeAfter', 'LastModifiedTimeAfter', 0);
  const modifiedBefore = optionalNumber(input, 'LastModifiedTimeBefore', 'LastModifiedTimeBefore', 0);
  const status = spec.statusField ? optionalString(input, 'StatusEquals', 'StatusEquals', 64) : undefined;
  const field = spec.sortFields[sortBy]!;
  const filtered = records.filter((r) => {
    const created = Number(r.CreationTime);
    const modified = Number(r.LastModifiedTime ?? r.CreationTime);
    if (nameContains && !String(r[spec.nameField]).toLowerCase().includes(nameContains.toLowerCase())) return false;
    if (createdAfter !== undefined && !(created > createdAfter)) return false;
    if (createdBefore !== undefined && !(created < createdBefore)) return false;
    if (modifiedAfter !== undefined && !(modified > modifiedAfter)) return false;
    if (modifiedBefore !== undefined && !(modified < modifiedBefore)) return false;
    if (status !== undefined && spec.statusField && r[spec.statusField] !== status) return false;
    return true;
  });
  filtered.sort((a, b) => {
    const x = a[field];
    const y = b[field];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return order === 'Ascending' ? c : -c;
  });
  const items = filtered.slice(offset, offset + max);
  const next = offset + max < filtered.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
  return next ? { items, NextToken: next } : { items };
}

/** Picks `fields` of a record for a summary. */
export function pick(record: ResourceRecord, fields: string[]): ResourceRecord {
  const out: ResourceRecord = {};
  for (const f of fields) if (record[f] !== undefined) out[f] = record[f];
  return out;
}

/** What a `List*` operation answers with: which records, by which fields, under which member. */
export interface SummarySpec {
  /** The response member holding the page, such as `Models`. */
  member: string;
  nameField: string;
  /** The status field, for `StatusEquals` and `SortBy: Status`, on resources that have one. */
  statusField?: string;
  /** The fields of a summary, in the order the service lists them. */
  fields: string[];
}

/**
 * A whole `List*` answer: one page of `records` as summaries, and the next token. Every SageMaker list this
 * emulator serves sorts by `Name` and `CreationTime` (newest first by default), and by `Status` when the
 * resource has one.
 */
export function listSummaries(records: ResourceRecord[], input: Input, spec: SummarySpec): ResourceRecord {
  const sortFields: Record<string, string> = { Name: spec.nameField, CreationTime: 'CreationTime' };
  if (spec.statusField) sortFields.Status = spec.statusField;
  const page = listPage(records, input, { sortFields, defaultSort: 'CreationTime', nameField: spec.nameField, statusField: spec.statusField });
  return { [spec.member]: page.items.map((r) => pick(r, spec.fields)), NextToken: page.NextToken };
}
