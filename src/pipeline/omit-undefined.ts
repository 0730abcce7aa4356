/**
 * A copy of `value` without its `undefined` members. Request builders use it because SageMaker treats
 * an explicit null or empty structure as a value (and refuses most), so an unset option must be absent.
 */
export function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
