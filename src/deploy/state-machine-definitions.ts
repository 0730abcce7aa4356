/**
 * Checks the Amazon States Language definitions of `AWS::StepFunctions::StateMachine` resources against the
 * shared ASL schema (`stepfunctions-definition.json`), after their intrinsics are resolved: a state machine
 * that CloudFormation would accept but Step Functions would refuse is caught before any deployment.
 */
import { readFileSync } from 'node:fs';
import type { TemplateFinding } from './findings';
import type { ResolvedResource } from '../cloudformation/intrinsics';
import { compileSharedSchema, createSchemaValidator, type SchemaViolation, violationsOf } from './resource-schemas';
import { isRecord } from '../cloudformation/template';

/** Violations of one definition (empty when valid). */
export type StateMachineDefinitionValidator = (definition: unknown) => SchemaViolation[];

/**
 * Fields the States Language gives a `Succeed` state that the shared schema (cfn-lint's) leaves out: in
 * JSONPath, `InputPath` and `OutputPath` filter what the execution returns, and any state may name its
 * `QueryLanguage`. Step Functions accepts them; without them the schema would refuse valid definitions.
 */
export const SUCCEED_STATE_FIELDS_MISSING_FROM_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  InputPath: { type: ['string', 'null'], pattern: '^\\$' },
  OutputPath: { type: ['string', 'null'], pattern: '^\\$' },
  QueryLanguage: { $ref: '#/definitions/queryLanguage' },
});

/**
 * The shared ASL schema with {@link SUCCEED_STATE_FIELDS_MISSING_FROM_SCHEMA} added to its `succeed` state
 * (under the same JSONPath/JSONata rules as other states), and nothing else changed. A schema without that
 * definition is returned as it is.
 */
export function amendAslSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const definitions = isRecord(schema.definitions) ? schema.definitions : undefined;
  const succeed = definitions && isRecord(definitions.succeed) ? definitions.succeed : undefined;
  if (!definitions || !succeed || !isRecord(succeed.properties)) return schema;
  // The paths are JSONPath only: the schema's `common` rules (which other states use) refuse them under
  // JSONata, and `Output` under JSONPath.
  const common = isRecord(definitions.common) ? [{ $ref: '#/definitions/common' }] : [];
  const allOf = [...(Array.isArray(succeed.allOf) ? succeed.allOf : []), ...common];
  return {
    ...schema,
    definitions: {
      ...definitions,
      succeed: {
        ...succeed,
        properties: { ...SUCCEED_STATE_FIELDS_MISSING_FROM_SCHEMA, ...succeed.properties },
        ...(allOf.length > 0 ? { allOf } : {}),
      },
    },
  };
}

/** Loads the ASL schema (amended by {@link amendAslSchema}) and returns a validator for definitions. */
export function loadStateMachineDefinitionValidator(path: string): StateMachineDefinitionValidator {
  const schema = amendAslSchema(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
  const validator = compileSharedSchema(createSchemaValidator(), schema);
  return (definition) => (validator(definition) ? [] : violationsOf(validator));
}

/** Every state machine's `Definition` (object) or `DefinitionString` (JSON text) against the ASL schema. */
export function checkStateMachineDefinitions(
  resources: readonly ResolvedResource[],
  validate: StateMachineDefinitionValidator,
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const { logicalId, type, properties } of resources) {
    if (type !== 'AWS::StepFunctions::StateMachine') continue;
    const add = (message: string): void => {
      findings.push({ check: 'state-machine-definition', resource: logicalId, message });
    };
    let definition = properties.Definition;
    if (definition === undefined && typeof properties.DefinitionString === 'string') {
      try {
        definition = JSON.parse(properties.DefinitionString);
      } catch (error) {
        add(`DefinitionString is not JSON: ${(error as Error).message}`);
        continue;
      }
    }
    if (definition === undefined) {
      // Definitions kept in S3 (DefinitionS3Location) cannot be read offline.
      if (properties.DefinitionS3Location !== undefined) add('DefinitionS3Location cannot be checked offline; inline the definition');
      continue;
    }
    for (const violation of validate(definition)) {
      add(`definition${violation.pointer.replace(/\//g, '.')} ${violation.message}`);
    }
  }
  return findings;
}
