/**
 * The memory budget of a multi-model endpoint instance: what its container processes may hold resident
 * before the least recently used models are unloaded. SageMaker's limit is the instance's memory; locally
 * it comes from the instance type too, unless overridden (a small budget makes eviction visible on a laptop).
 *
 * Order of precedence: the container's `Environment` `SMHOST_MME_MEMORY_MB`, then the emulator option,
 * then the process environment `SMHOST_MME_MEMORY_MB`, then the instance type's memory.
 */

/** Environment variable (process or container `Environment`) overriding the budget, in MiB. */
export const MEMORY_BUDGET_ENV = 'SMHOST_MME_MEMORY_MB';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** A budget setting that is not a positive number of MiB. */
export class MemoryBudgetError extends Error {
  override readonly name = 'MemoryBudgetError';
  constructor(source: string, value: unknown) {
    super(`${source} must be a number of MiB greater than 0 (the resident memory a multi-model instance may hold); got ${JSON.stringify(value)}`);
  }
}

/** vCPUs by size suffix, as EC2 (and so SageMaker ML instances) size them. */
const VCPUS: Record<string, number> = {
  medium: 2,
  large: 2,
  xlarge: 4,
  '2xlarge': 8,
  '3xlarge': 12,
  '4xlarge': 16,
  '8xlarge': 32,
  '9xlarge': 36,
  '12xlarge': 48,
  '16xlarge': 64,
  '18xlarge': 72,
  '24xlarge': 96,
  '32xlarge': 128,
  '48xlarge': 192,
};

/** GiB of memory per vCPU by family letter (general purpose 4, compute 2, memory 8). */
const GIB_PER_VCPU: Record<string, number> = { m: 4, c: 2, r: 8, t: 2, g: 4, p: 8, inf: 2, x: 16, z: 8 };

const EXACT: Record<string, number> = {
  'ml.t2.medium': 4,
  'ml.t2.large': 8,
  'ml.t2.xlarge': 16,
  'ml.t2.2xlarge': 32,
  'ml.g4dn.xlarge': 16,
  'ml.g5.xlarge': 16,
};

/** The default when an instance type is absent or unknown: an `ml.m5.large`. */
export const DEFAULT_INSTANCE_MEMORY_BYTES = 8 * GIB;

/**
 * The memory of an ML instance type (`ml.m5.xlarge` → 16 GiB), from EC2's sizing by family and size; an
 * unknown type (or none, as for serverless variants) counts as 8 GiB.
 */
export function instanceTypeMemoryBytes(instanceType: string | undefined): number {
  if (instanceType === undefined) return DEFAULT_INSTANCE_MEMORY_BYTES;
  const exact = EXACT[instanceType];
  if (exact !== undefined) return exact * GIB;
  const match = /^ml\.([a-z]+)\d+[a-z-]*\.([0-9a-z]+)$/.exec(instanceType);
  if (!match) return DEFAULT_INSTANCE_MEMORY_BYTES;
  const vcpus = VCPUS[match[2]!];
  const perVcpu = GIB_PER_VCPU[match[1]!];
  if (vcpus === undefined || perVcpu === undefined) return DEFAULT_INSTANCE_MEMORY_BYTES;
  return vcpus * perVcpu * GIB;
}

function parseMib(value: string, source: string): number {
  const mib = Number(value);
  if (value.trim() === '' || !Number.isFinite(mib) || mib <= 0) throw new MemoryBudgetError(source, value);
  return Math.round(mib * MIB);
}

export interface BudgetSources {
  /** The container definitions' `Environment`s. */
  environments: Record<string, string>[];
  /** The emulator's option, in bytes. */
  optionBytes: number | undefined;
  /** The emulator's process environment. */
  processEnv: NodeJS.ProcessEnv;
  instanceType: string | undefined;
}

/** Resolves the budget in bytes and says where it came from (shown in the local listing). */
export function resolveMemoryBudget(sources: BudgetSources): { bytes: number; source: string } {
  for (const environment of sources.environments) {
    const value = environment[MEMORY_BUDGET_ENV];
    if (value !== undefined) return { bytes: parseMib(value, `Environment ${MEMORY_BUDGET_ENV}`), source: `container Environment ${MEMORY_BUDGET_ENV}` };
  }
  if (sources.optionBytes !== undefined) {
    if (!Number.isFinite(sources.optionBytes) || sources.optionBytes <= 0) throw new MemoryBudgetError('multiModel.memoryBudgetBytes', sources.optionBytes);
    return { bytes: sources.optionBytes, source: 'emulator option multiModel.memoryBudgetBytes' };
  }
  const fromEnv = sources.processEnv[MEMORY_BUDGET_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { bytes: parseMib(fromEnv, MEMORY_BUDGET_ENV), source: `environment ${MEMORY_BUDGET_ENV}` };
  return { bytes: instanceTypeMemoryBytes(sources.instanceType), source: `instance type ${sources.instanceType ?? '(none)'}` };
}
