/**
 * The problems of a refused workflow input, in the words a person expects: a field that is absent "is
 * required", where the schema library says it expected a type and "received undefined".
 */
import type { InputProblem } from '../../workflows/workflow-schemas';

/** Rewrites the type errors of absent fields as "is required"; other problems stay as they are. */
export function problemsInPlainWords(input: unknown, problems: InputProblem[]): InputProblem[] {
  return problems.map((problem) =>
    /^Invalid input: expected /.test(problem.message) && valueAt(input, problem.field) === undefined
      ? { field: problem.field, message: 'is required' }
      : problem,
  );
}

/** The value at a field path as the workflow errors write it (`containers[1].image`); undefined when absent. */
export function valueAt(input: unknown, field: string): unknown {
  if (field === '(input)') return input;
  let value: unknown = input;
  for (const match of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = match[2] !== undefined ? Number(match[2]) : match[1]!;
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}
