import { describe, expect, it } from 'vitest';
import { instanceTypeMemoryBytes, MemoryBudgetError, resolveMemoryBudget } from '../../../src/local/sagemaker/multi-model/memory-budget';

const GIB = 1024 ** 3;

describe('Function: instanceTypeMemoryBytes', () => {
  it('sizes ML instance types by family and size, and counts unknown ones as 8 GiB', () => {
    expect(instanceTypeMemoryBytes('ml.m5.large')).toBe(8 * GIB);
    expect(instanceTypeMemoryBytes('ml.m5.xlarge')).toBe(16 * GIB);
    expect(instanceTypeMemoryBytes('ml.c5.2xlarge')).toBe(16 * GIB);
    expect(instanceTypeMemoryBytes('ml.r5.large')).toBe(16 * GIB);
    expect(instanceTypeMemoryBytes('ml.t2.medium')).toBe(4 * GIB);
    expect(instanceTypeMemoryBytes('ml.m6i.4xlarge')).toBe(64 * GIB);
    expect(instanceTypeMemoryBytes('ml.weird.thing')).toBe(8 * GIB);
    expect(instanceTypeMemoryBytes(undefined)).toBe(8 * GIB);
  });
});

describe('Function: resolveMemoryBudget', () => {
  const base = { environments: [], optionBytes: undefined, processEnv: {}, instanceType: 'ml.m5.xlarge' };

  it('prefers the container Environment, then the option, then the process environment, then the instance type', () => {
    expect(resolveMemoryBudget({ ...base, environments: [{ SMHOST_MME_MEMORY_MB: '512' }], optionBytes: 1, processEnv: { SMHOST_MME_MEMORY_MB: '2' } })).toEqual({
      bytes: 512 * 1024 ** 2,
      source: 'container Environment SMHOST_MME_MEMORY_MB',
    });
    expect(resolveMemoryBudget({ ...base, optionBytes: 1000, processEnv: { SMHOST_MME_MEMORY_MB: '2' } }).bytes).toBe(1000);
    expect(resolveMemoryBudget({ ...base, processEnv: { SMHOST_MME_MEMORY_MB: '1.5' } }).bytes).toBe(1.5 * 1024 ** 2);
    expect(resolveMemoryBudget(base)).toEqual({ bytes: 16 * GIB, source: 'instance type ml.m5.xlarge' });
  });

  it('refuses budgets that are not a positive number of MiB, naming where they came from', () => {
    expect(() => resolveMemoryBudget({ ...base, environments: [{ SMHOST_MME_MEMORY_MB: '0' }] })).toThrow(MemoryBudgetError);
    expect(() => resolveMemoryBudget({ ...base, processEnv: { SMHOST_MME_MEMORY_MB: 'x' } })).toThrow(/^SMHOST_MME_MEMORY_MB must be a number of MiB greater than 0.*"x"/);
    expect(() => resolveMemoryBudget({ ...base, optionBytes: -1 })).toThrow(/multiModel\.memoryBudgetBytes must be/);
  });
});
