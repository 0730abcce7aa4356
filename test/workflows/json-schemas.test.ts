import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_DIRECTORY, renderJsonSchemaFiles, workflowJsonSchema } from '../../src/workflows/json-schemas';
import { WORKFLOW_NAMES } from '../../src/workflows/workflow-schemas';
import { FULL_INPUTS, MINIMAL_INPUTS } from './sample-inputs';

const root = join(import.meta.dirname, '..', '..');

describe('Function: renderJsonSchemaFiles', () => {
  it('matches the committed files (run: npx tsx src/workflows/generate-json-schemas.ts)', () => {
    // Act
    const files = renderJsonSchemaFiles();

    // Assess
    expect(files.map((f) => f.fileName).sort()).toEqual(WORKFLOW_NAMES.map((w) => `${w}.schema.json`).sort());
    for (const { fileName, text } of files) {
      const committed = readFileSync(join(root, JSON_SCHEMA_DIRECTORY, fileName), 'utf8');
      expect(committed, `${fileName} is out of date`).toBe(text);
    }
  });
});

describe('Function: workflowJsonSchema', () => {
  it.each(WORKFLOW_NAMES)('accepts the sample inputs of %s and refuses an unknown field', (workflow) => {
    // Prepare
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(workflowJsonSchema(workflow));

    // Act
    const minimal = validate(MINIMAL_INPUTS[workflow]);
    const full = validate(FULL_INPUTS[workflow]);
    const typo = validate({ ...MINIMAL_INPUTS[workflow], unknownField: 1 });

    // Assess
    expect(minimal, JSON.stringify(validate.errors)).toBe(true);
    expect(full).toBe(true);
    expect(typo).toBe(false);
  });
});
