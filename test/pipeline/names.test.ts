import { describe, expect, it } from 'vitest';
import {
  InvalidResourceNameError,
  SAGEMAKER_NAME_MAX_LENGTH,
  SAGEMAKER_NAME_PATTERN,
  deriveName,
  sanitizeNameBase,
  scheduledTimeSegment,
} from '../../src/pipeline/names';

const execution = { name: 'ci-run-42', startTime: '2024-05-01T09:30:00.123Z' };

describe('Function: deriveName', () => {
  it('gives a valid SageMaker name for bases of every length and character', () => {
    // Prepare
    const bases = ['a', 'iris', 'x'.repeat(63), 'y'.repeat(200), 'My_Model.v2 (prod)', '--lead-and-trail--', 'a--b', '9-start'];

    // Act
    const names = bases.map((base) => deriveName(base, execution, 'model'));

    // Assess
    for (const name of names) {
      expect(name).toMatch(SAGEMAKER_NAME_PATTERN);
      expect(name.length).toBeLessThanOrEqual(SAGEMAKER_NAME_MAX_LENGTH);
    }
    expect(names[4]).toMatch(/^My-Model-v2-prod-[0-9a-f]{10}$/);
  });

  it('is stable for one execution and differs between executions and purposes', () => {
    // Prepare
    const rerun = { name: 'ci-run-43', startTime: execution.startTime };
    const sameNameLater = { name: execution.name, startTime: '2024-08-01T00:00:00.000Z' };

    // Act
    const first = deriveName('iris', execution, 'model');
    const again = deriveName('iris', execution, 'model');
    const others = [
      deriveName('iris', rerun, 'model'),
      deriveName('iris', sameNameLater, 'model'),
      deriveName('iris', execution, 'endpoint-config'),
    ];

    // Assess
    expect(again).toBe(first);
    expect(new Set([first, ...others]).size).toBe(4);
  });

  it('keeps names of a thousand executions of one long base unique after truncation', () => {
    // Prepare
    const base = 'a-very-long-endpoint-name-that-fills-every-one-of-the-63-chars-x';

    // Act
    const names = Array.from({ length: 1000 }, (_, i) => deriveName(base, { name: `run-${i}`, startTime: execution.startTime }, 'model'));

    // Assess
    expect(new Set(names).size).toBe(1000);
    expect(names.every((name) => name.length === SAGEMAKER_NAME_MAX_LENGTH)).toBe(true);
  });

  it('refuses a base with no letter or digit', () => {
    // Act / Assess
    expect(() => deriveName('___', execution, 'model')).toThrow(InvalidResourceNameError);
    expect(() => deriveName('', execution, 'model')).toThrow(/no letter or digit/);
  });
});

describe('Function: sanitizeNameBase', () => {
  it('replaces invalid characters, trims hyphens and truncates', () => {
    // Act / Assess
    expect(sanitizeNameBase('models/iris v2')).toBe('models-iris-v2');
    expect(sanitizeNameBase('-x-', 10)).toBe('x');
    expect(sanitizeNameBase('abcdef-ghij', 7)).toBe('abcdef');
  });
});

describe('Function: scheduledTimeSegment', () => {
  it('makes one sortable path segment without colons', () => {
    // Act
    const segment = scheduledTimeSegment(new Date('2024-05-01T09:30:00Z'));

    // Assess
    expect(segment).toBe('2024-05-01T09-30-00Z');
  });
});
