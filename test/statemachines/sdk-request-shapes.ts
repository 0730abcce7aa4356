/**
 * Checks a request against the service model the AWS SDK ships (the schemas of
 * `@aws-sdk/client-sagemaker` and friends): every member name known, every required member present,
 * scalars of the right JSON type. This is how the tests hold the state machines' requests to the
 * real API shapes rather than to a list kept by hand.
 */
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as s3 from '@aws-sdk/client-s3';
import * as sagemaker from '@aws-sdk/client-sagemaker';

type Schema = number | (() => Schema) | readonly unknown[];

const SERVICES: Record<string, Record<string, unknown>> = {
  sagemaker: sagemaker as unknown as Record<string, unknown>,
  s3: s3 as unknown as Record<string, unknown>,
  dynamodb: dynamodb as unknown as Record<string, unknown>,
};

type ResolvedSchema = number | readonly unknown[];

function resolve(schema: Schema): ResolvedSchema {
  if (typeof schema === 'function') return resolve(schema());
  // A member with traits (`[schema, { httpQuery: ... }]`) is a pair; named schemas carry a namespace string.
  if (Array.isArray(schema) && schema.length === 2 && typeof schema[1] !== 'string') return resolve(schema[0] as Schema);
  return schema;
}

/** The input schema of `service`'s operation `action` (`createModel` → the `CreateModel` operation). */
export function operationInputSchema(service: string, action: string): ResolvedSchema {
  const exports = SERVICES[service];
  if (!exports) throw new Error(`no service model loaded for ${service}`);
  const operation = exports[`${action[0]!.toUpperCase()}${action.slice(1)}$`] as readonly unknown[] | undefined;
  if (!Array.isArray(operation) || operation[0] !== 9) throw new Error(`${service} has no operation ${action}`);
  return resolve(operation[4] as Schema);
}

function scalarProblem(value: unknown, code: number, path: string): string | undefined {
  const base = code & 63;
  if (base === 0 && typeof value !== 'string') return `${path}: expected a string`;
  if (base === 1 && typeof value !== 'number') return `${path}: expected a number`;
  if (base === 2 && typeof value !== 'boolean') return `${path}: expected a boolean`;
  return undefined;
}

/** Every way `value` departs from `schema`, as `path: problem` lines; empty when it fits. */
export function shapeProblems(value: unknown, schemaIn: Schema, path = '(request)'): string[] {
  const schema = resolve(schemaIn);
  if (typeof schema === 'number') {
    if (schema & 64) {
      if (!Array.isArray(value)) return [`${path}: expected a list`];
      return value.flatMap((item, i) => shapeProblems(item, schema & 63, `${path}[${i}]`));
    }
    if (schema & 128) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected a map`];
      return Object.entries(value).flatMap(([k, v]) => shapeProblems(v, schema & 63, `${path}.${k}`));
    }
    const problem = scalarProblem(value, schema, path);
    return problem ? [problem] : [];
  }
  const kind = schema[0];
  if (kind === 3) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected a structure`];
    const names = schema[4] as string[];
    const members = schema[5] as Schema[];
    const required = typeof schema[6] === 'number' ? schema[6] : 0;
    const problems: string[] = [];
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const index = names.indexOf(key);
      if (index < 0) problems.push(`${path}.${key}: not a member of ${String(schema[2])}`);
      else problems.push(...shapeProblems(record[key], members[index]!, `${path}.${key}`));
    }
    names.slice(0, required).forEach((name) => {
      if (!(name in record)) problems.push(`${path}.${name}: required by ${String(schema[2])}`);
    });
    return problems;
  }
  if (kind === 1) {
    if (!Array.isArray(value)) return [`${path}: expected a list`];
    return value.flatMap((item, i) => shapeProblems(item, schema[4] as Schema, `${path}[${i}]`));
  }
  if (kind === 2) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected a map`];
    return Object.entries(value).flatMap(([k, v]) => shapeProblems(v, schema[5] as Schema, `${path}.${k}`));
  }
  return [];
}

/** Member names of a Parameters template (`Name.$` counts as `Name`), checked without values. */
export function templateNameProblems(template: unknown, schemaIn: Schema, path = '(Parameters)'): string[] {
  const schema = resolve(schemaIn);
  if (typeof schema === 'number' || typeof template !== 'object' || template === null) return [];
  if (Array.isArray(template)) {
    if (schema[0] !== 1) return [`${path}: a list where ${String(schema[2])} is not one`];
    return template.flatMap((item, i) => templateNameProblems(item, schema[4] as Schema, `${path}[${i}]`));
  }
  if (schema[0] === 2) return [];
  if (schema[0] !== 3) return [`${path}: a structure where ${String(schema[2])} is not one`];
  const names = schema[4] as string[];
  const members = schema[5] as Schema[];
  const required = typeof schema[6] === 'number' ? schema[6] : 0;
  const problems: string[] = [];
  const keys = Object.keys(template).map((key) => (key.endsWith('.$') ? key.slice(0, -2) : key));
  Object.entries(template).forEach(([rawKey, value]) => {
    const key = rawKey.endsWith('.$') ? rawKey.slice(0, -2) : rawKey;
    const index = names.indexOf(key);
    if (index < 0) problems.push(`${path}.${key}: not a member of ${String(schema[2])}`);
    else if (!rawKey.endsWith('.$')) problems.push(...templateNameProblems(value, members[index]!, `${path}.${key}`));
  });
  names.slice(0, required).forEach((name) => {
    if (!keys.includes(name)) problems.push(`${path}.${name}: required by ${String(schema[2])}`);
  });
  return problems;
}
