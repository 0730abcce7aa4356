import { InvalidModelInputError } from './errors';

/**
 * Checks that `rows` is a non-empty matrix of finite numbers with equal-length rows, and returns its width.
 * Builders and trainers share it so every one of them names the bad cell the same way.
 */
export function assertNumericMatrix(rows: readonly (readonly number[])[], input: string): number {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new InvalidModelInputError(input, 'must be a non-empty array of rows');
  }
  const first = rows[0];
  if (!Array.isArray(first) || first.length === 0) {
    throw new InvalidModelInputError(`${input}[0]`, 'must be a non-empty array of numbers');
  }
  const width = first.length;
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width) {
      throw new InvalidModelInputError(`${input}[${i}]`, `must have ${width} values like the first row`);
    }
    row.forEach((value, j) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidModelInputError(`${input}[${i}][${j}]`, 'must be a finite number');
      }
    });
  });
  return width;
}

/** Checks a non-empty vector of finite numbers, optionally of a required length. */
export function assertNumericVector(values: readonly number[], input: string, length?: number): void {
  if (!Array.isArray(values) || values.length === 0) {
    throw new InvalidModelInputError(input, 'must be a non-empty array of numbers');
  }
  if (length !== undefined && values.length !== length) {
    throw new InvalidModelInputError(input, `must have ${length} values, has ${values.length}`);
  }
  values.forEach((value, i) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidModelInputError(`${input}[${i}]`, 'must be a finite number');
    }
  });
}
