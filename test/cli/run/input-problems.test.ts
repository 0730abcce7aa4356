import { describe, expect, it } from 'vitest';
import { problemsInPlainWords, valueAt } from '../../../src/cli/run/input-problems';

describe('Function: problemsInPlainWords', () => {
  it('says "is required" for absent fields and leaves wrong values as the schema words them', () => {
    // Prepare
    const input = { modelName: 7, containers: [{ image: 'a' }, {}] };
    const problems = [
      { field: 'modelName', message: 'Invalid input: expected string, received number' },
      { field: 'data', message: 'Invalid input: expected string, received undefined' },
      { field: 'containers[1].image', message: 'Invalid input: expected string, received undefined' },
      { field: 'colour', message: 'is not a known field' },
    ];

    // Act
    const worded = problemsInPlainWords(input, problems);

    // Assess
    expect(worded).toEqual([
      { field: 'modelName', message: 'Invalid input: expected string, received number' },
      { field: 'data', message: 'is required' },
      { field: 'containers[1].image', message: 'is required' },
      { field: 'colour', message: 'is not a known field' },
    ]);
  });
});

describe('Function: valueAt', () => {
  it('reads dotted and indexed paths, and the whole input', () => {
    // Prepare
    const input = { a: { b: [1, { c: null }] } };

    // Act / Assess
    expect(valueAt(input, 'a.b[1].c')).toBeNull();
    expect(valueAt(input, 'a.b[0]')).toBe(1);
    expect(valueAt(input, 'a.b[2]')).toBeUndefined();
    expect(valueAt(input, 'a.x.y')).toBeUndefined();
    expect(valueAt(input, '(input)')).toBe(input);
  });
});
