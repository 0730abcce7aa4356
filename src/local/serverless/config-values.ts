/**
 * Reading the values of a resolved `serverless.yml`: mappings, sections the framework lets be lists, and
 * whole numbers within AWS's limits. Every refusal names the path in the file and the rule.
 */
import { ServerlessConfigError } from './errors';

type Json = Record<string, unknown>;

/** Whether a value is a mapping (not null, not a list). */
export function isMapping(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The mapping at `where`, or an empty one when it is absent.
 *
 * @throws {ServerlessConfigError} when the value is there but not a mapping.
 */
export function asMapping(value: unknown, where: string): Json {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) throw new ServerlessConfigError(`serverless.yml: ${where} must be a mapping`);
  return value;
}

/**
 * A section the framework lets be one mapping or a list of mappings (`resources`, `functions`), the list
 * merged in order as the framework merges it (lodash `merge`): deeply, so two files each adding to
 * `Resources` keep both, a later value winning over an earlier one, lists merged item by item. Empty items
 * (a `${file(...)}` that resolved to nothing) are skipped.
 *
 * @throws {ServerlessConfigError} naming the item when one is not a mapping.
 */
export function mergeSections(value: unknown, where: string): Json {
  if (!Array.isArray(value)) return asMapping(value, where);
  const merged: Json = {};
  value.forEach((item, index) => deepMerge(merged, asMapping(item, `${where}[${index}]`)));
  return merged;
}

/** Merges `source` into `target` in place: mappings and lists recursively, any other value replacing. */
function deepMerge(target: Json | unknown[], source: Json | unknown[]): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const existing = (target as Json)[key];
    if (isMapping(value) && isMapping(existing)) deepMerge(existing, value);
    else if (Array.isArray(value) && Array.isArray(existing)) deepMerge(existing, value);
    else (target as Json)[key] = structuredClone(value);
  }
}

/**
 * A whole number from `min` to `max` (a numeric string counts), or `fallback` when absent.
 *
 * @throws {ServerlessConfigError} naming `where` and the range.
 */
export function integerIn(value: unknown, where: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new ServerlessConfigError(`serverless.yml: ${where} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return number;
}
