/**
 * S3's conditional request rules for reads and copy sources (`If-Match`, `If-None-Match`,
 * `If-Modified-Since`, `If-Unmodified-Since` and their `x-amz-copy-source-if-*` forms), including the
 * precedence S3 documents: a matching `If-Match` overrides a failing `If-Unmodified-Since`, and a
 * non-matching `If-None-Match` overrides a failing `If-Modified-Since`.
 */
import { etagMatches, type ObjectRecord } from './object-store';
import { invalidArgument } from './s3-error';

export interface ReadConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** `ok`, or which condition failed and whether a read answers 304 (`not-modified`) or 412 (`failed`). */
export type ConditionOutcome = { result: 'ok' } | { result: 'not-modified' | 'failed'; condition: string };

function parseDate(value: string, name: string): number {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw invalidArgument(name, value, `${name} must be an HTTP date such as "Wed, 21 Oct 2015 07:28:00 GMT"`);
  return time;
}

/** Seconds precision: Last-Modified as clients see it in headers. */
function modifiedSeconds(record: ObjectRecord): number {
  return Math.floor(Date.parse(record.lastModified) / 1000) * 1000;
}

/**
 * Evaluates `conditions` against `record`. `names` are the header names used in error messages
 * (`If-Match` for reads, `x-amz-copy-source-If-Match` for copies).
 */
export function evaluateReadConditions(record: ObjectRecord, conditions: ReadConditions, prefix = ''): ConditionOutcome {
  const lastModified = modifiedSeconds(record);
  let matchedIfMatch = false;
  if (conditions.ifMatch !== undefined) {
    if (!etagMatches(conditions.ifMatch, record.etag)) return { result: 'failed', condition: `${prefix}If-Match` };
    matchedIfMatch = true;
  }
  if (!matchedIfMatch && conditions.ifUnmodifiedSince !== undefined) {
    if (lastModified > parseDate(conditions.ifUnmodifiedSince, `${prefix}If-Unmodified-Since`)) {
      return { result: 'failed', condition: `${prefix}If-Unmodified-Since` };
    }
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagMatches(conditions.ifNoneMatch, record.etag)) return { result: 'not-modified', condition: `${prefix}If-None-Match` };
    return { result: 'ok' };
  }
  if (conditions.ifModifiedSince !== undefined) {
    if (lastModified <= parseDate(conditions.ifModifiedSince, `${prefix}If-Modified-Since`)) {
      return { result: 'not-modified', condition: `${prefix}If-Modified-Since` };
    }
  }
  return { result: 'ok' };
}

/** Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against an object of `size` bytes; undefined when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return { start, end };
}
