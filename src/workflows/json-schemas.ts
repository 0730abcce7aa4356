/**
 * The workflow input schemas as JSON Schema (draft 2020-12), for users and editors: the committed
 * `statemachines/schemas/<workflow>.schema.json` files are these, and a test keeps them up to date.
 */
import { z } from 'zod';
import { WORKFLOW_NAMES, WORKFLOW_SCHEMAS, type WorkflowName } from './workflow-schemas';

/** Where the JSON Schema files live, relative to the repository root. */
export const JSON_SCHEMA_DIRECTORY = 'statemachines/schemas';

export function jsonSchemaFileName(workflow: WorkflowName): string {
  return `${workflow}.schema.json`;
}

/**
 * The JSON Schema of a workflow's input as a user writes it: defaulted fields are optional (the
 * `input` side of each schema), and the title names the state machine.
 */
export function workflowJsonSchema(workflow: WorkflowName): Record<string, unknown> {
  const schema = z.toJSONSchema(WORKFLOW_SCHEMAS[workflow], { io: 'input', unrepresentable: 'any' });
  return { ...schema, title: `${workflow} input` };
}

/** Every JSON Schema file's name and exact text (two-space indented, newline at the end). */
export function renderJsonSchemaFiles(): { fileName: string; text: string }[] {
  return WORKFLOW_NAMES.map((workflow) => ({
    fileName: jsonSchemaFileName(workflow),
    text: `${JSON.stringify(workflowJsonSchema(workflow), null, 2)}\n`,
  }));
}
