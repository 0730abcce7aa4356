/**
 * SageMaker resource names derived from a Step Functions execution.
 *
 * SageMaker names (models, endpoint configs, endpoints, jobs) match {@link SAGEMAKER_NAME_PATTERN} and are
 * at most 63 characters. A name this execution creates must not collide with one a previous execution
 * created (a rerun after a failure, an update next to the config in service), so it carries a short hash
 * of the execution's identity: execution names are unique per state machine, and the start time
 * separates two executions that reuse a name after the first one's history expired.
 */
import { createHash } from 'node:crypto';

/** The pattern every SageMaker model, endpoint config, endpoint and job name must match. */
export const SAGEMAKER_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
export const SAGEMAKER_NAME_MAX_LENGTH = 63;
/** Hex digits of the execution hash appended to derived names: 2^40 values, no practical collision. */
export const NAME_HASH_LENGTH = 10;

/** The identity of one execution, as the context object gives it (`$$.Execution.Name`, `.StartTime`). */
export interface ExecutionIdentity {
  name: string;
  startTime: string;
}

/** Raised when a name cannot be made valid (nothing usable is left of the base). */
export class InvalidResourceNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResourceNameError';
  }
}

/** True when `name` is a valid SageMaker resource name. */
export function isSageMakerName(name: string): boolean {
  return SAGEMAKER_NAME_PATTERN.test(name);
}

/**
 * Turns any text into the longest valid name prefix it can give: characters outside `[a-zA-Z0-9-]`
 * become `-`, and leading or trailing `-` go (a name must start and end with a letter or digit).
 */
export function sanitizeNameBase(text: string, maxLength: number = SAGEMAKER_NAME_MAX_LENGTH): string {
  const replaced = text.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+/, '');
  return replaced.slice(0, Math.max(0, maxLength)).replace(/-+$/, '');
}

/** Short hex digest of the parts, stable across runs and processes. */
export function shortHash(parts: readonly string[], length: number = NAME_HASH_LENGTH): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);
}

/**
 * `<base>-<hash>`: the base truncated so the whole stays within 63 characters, and a hash of the
 * execution identity and `purpose`, so each execution (and each kind of resource in it, when the
 * caller passes different purposes) gets its own name.
 */
export function deriveName(base: string, execution: ExecutionIdentity, purpose: string): string {
  const hash = shortHash([purpose, execution.name, execution.startTime]);
  const prefix = sanitizeNameBase(base, SAGEMAKER_NAME_MAX_LENGTH - NAME_HASH_LENGTH - 1);
  if (prefix === '') {
    throw new InvalidResourceNameError(
      `cannot derive a SageMaker name from "${base}": it has no letter or digit to start with`,
    );
  }
  const name = `${prefix}-${hash}`;
  // The construction above always yields a valid name; this guards the invariant against future edits.
  if (!isSageMakerName(name)) throw new InvalidResourceNameError(`derived name "${name}" is not a valid SageMaker name`);
  return name;
}

/**
 * A date-stamped path segment for a scheduled time, `2024-05-01T09-30-00Z`: sortable, one segment, and
 * free of `:` so it needs no escaping in S3 URIs or shells.
 */
export function scheduledTimeSegment(scheduledTime: Date): string {
  return scheduledTime.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}
