/**
 * The state machines the project defines and the zod schema of each one's input: the single list the
 * prepare function, the `run` command and the JSON Schema generator share.
 */
import type { z } from 'zod';
import { batchTransformInputSchema } from './batch-transform.schema';
import { deployMultiModelEndpointInputSchema } from './deploy-multi-model-endpoint.schema';
import { deployPipelineModelInputSchema } from './deploy-pipeline-model.schema';
import { registerModelPackageInputSchema } from './register-model-package.schema';

export const WORKFLOW_SCHEMAS = {
  'deploy-multi-model-endpoint': deployMultiModelEndpointInputSchema,
  'deploy-pipeline-model': deployPipelineModelInputSchema,
  'register-model-package': registerModelPackageInputSchema,
  'batch-transform': batchTransformInputSchema,
} as const;

export type WorkflowName = keyof typeof WORKFLOW_SCHEMAS;
export type WorkflowInput<W extends WorkflowName> = z.output<(typeof WORKFLOW_SCHEMAS)[W]>;

export const WORKFLOW_NAMES = Object.keys(WORKFLOW_SCHEMAS) as WorkflowName[];

/** One rule an input broke: the field (a dotted path, `(input)` for the whole) and what it must be. */
export interface InputProblem {
  field: string;
  message: string;
}

/**
 * Raised for an input a workflow refuses. Its message names every offending field and rule, e.g.
 * `deploy-pipeline-model input is invalid: containers[1].image: must not be empty`. The state machine
 * fails with this error's name before creating anything.
 */
export class WorkflowInputError extends Error {
  readonly problems: InputProblem[];
  constructor(workflow: string, problems: InputProblem[]) {
    super(`${workflow} input is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'WorkflowInputError';
    this.problems = problems;
  }
}

/** Raised for a workflow name that is not one of {@link WORKFLOW_NAMES}. */
export class UnknownWorkflowError extends Error {
  constructor(name: string) {
    super(`unknown workflow "${name}"; known workflows: ${WORKFLOW_NAMES.join(', ')}`);
    this.name = 'UnknownWorkflowError';
  }
}

export function isWorkflowName(name: string): name is WorkflowName {
  return Object.hasOwn(WORKFLOW_SCHEMAS, name);
}

/** The workflow a state machine name or ARN runs: itself, or the one its name ends in (`smhost-dev-batch-transform`). */
export function workflowOfStateMachine(name: string): WorkflowName | undefined {
  return WORKFLOW_NAMES.find((workflow) => name === workflow || name.endsWith(`-${workflow}`) || name.endsWith(`:${workflow}`));
}

/** `containers[1].image` from `['containers', 1, 'image']`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(input)' : text;
}

/**
 * Validates and normalizes (defaults filled in) a workflow input with its schema.
 * @throws WorkflowInputError naming each offending field and rule
 */
export function parseWorkflowInput<W extends WorkflowName>(workflow: W, input: unknown): WorkflowInput<W> {
  const schema = WORKFLOW_SCHEMAS[workflow] as unknown as z.ZodType<WorkflowInput<W>>;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems: InputProblem[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ field: formatIssuePath([...issue.path, key]), message: 'is not a known field' });
      }
    } else if (issue.code === 'invalid_key') {
      // zod reports a bad record key as "Invalid key in record"; the rule broken is in the nested issues.
      const rules = issue.issues.map((inner) => inner.message).join('; ');
      problems.push({ field: formatIssuePath(issue.path), message: `(the key) ${rules}` });
    } else if (issue.code === 'invalid_type' && valueAtPath(input, issue.path) === undefined) {
      // zod words an absent field as "expected string, received undefined"; a person expects "is required".
      problems.push({ field: formatIssuePath(issue.path), message: 'is required' });
    } else {
      problems.push({ field: formatIssuePath(issue.path), message: issue.message });
    }
  }
  throw new WorkflowInputError(workflow, problems);
}

/** The value at a schema issue's path in the input; undefined when any step of it is absent. */
function valueAtPath(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
