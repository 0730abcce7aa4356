/**
 * Checks the Amazon States Language definitions of `AWS::StepFunctions::StateMachine` resources against the
 * shared ASL schema (`stepfunctions-definition.json`), after their intrinsics are resolved: a state machine
 * that CloudFormation would accept but Step Functions would refuse is caught before any deployment.
 */
import { readFileSync } from 'node:fs';
import type { TemplateFinding } from './findings';
import type { ResolvedResource } from './intrinsics';
import { compileSharedSchema, createSchemaValidator, type SchemaViolation, violationsOf } from './resource-schemas';

/** Violations of one definition (empty when valid). */
export type StateMachineDefinitionValidator = (definition: unknown) => SchemaViolation[];

/** Loads the ASL schema and returns a validator for definitions. */
export function loadStateMachineDefinitionValidator(path: string): StateMachineDefinitionValidator {
  const validator = compileSharedSchema(createSchemaValidator(), JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
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
