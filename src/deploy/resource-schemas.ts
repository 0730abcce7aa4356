/**
 * Validation of resource properties against the CloudFormation resource provider schemas of the shared data
 * (one JSON Schema, draft 7, per resource type), with Ajv. The schemas carry CloudFormation's own keywords
 * and `format` names; Ajv runs non-strict so the keywords are ignored, and the non-standard formats
 * (`AWS::IAM::Role.Arn`, `json`, ...) are registered as accepting anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { isRecord } from '../cloudformation/template';

/**
 * The schemas' patterns are written for Python's `re` (cfn-lint's language): `\Z`, `\A`, `(?P<name>`,
 * `\p{Print}`. Translated to JavaScript; the few still invalid as JavaScript (e.g. a quantifier on `$`) accept
 * anything rather than fail valid templates.
 */
function translatePattern(source: string, flags: string): { test: (text: string) => boolean } {
  const translated = source
    .replace(/\\Z/g, '$')
    .replace(/\\A/g, '^')
    .replace(/\(\?P</g, '(?<')
    .replace(/\\p\{Print\}/g, '[^\\p{C}]');
  for (const candidate of [flags, flags.replace('u', '')]) {
    try {
      return new RegExp(translated, candidate);
    } catch {
      // try the next flags
    }
  }
  return { test: () => true };
}

const pythonPattern = Object.assign(translatePattern, { code: 'translatePattern' });

/** One schema violation of one resource. */
export interface SchemaViolation {
  /** JSON pointer inside `Properties` (`/RedrivePolicy/maxReceiveCount`), `` for the object itself. */
  pointer: string;
  message: string;
}

/** Validators for resource types, compiled on first use. */
export interface ResourceSchemas {
  /** Whether a schema exists for the type. */
  has(type: string): boolean;
  /**
   * Violations of `properties` against the type's schema (empty when valid).
   *
   * @throws {Error} when no schema exists for the type (check {@link has} first).
   */
  validate(type: string, properties: Record<string, unknown>): SchemaViolation[];
  /** Top-level properties the schema marks read-only (returned by CloudFormation, never set). */
  readOnlyProperties(type: string): string[];
}

/** `AWS::S3::Bucket` → `aws-s3-bucket.json`. */
export function schemaFileName(type: string): string {
  return `${type.toLowerCase().split('::').join('-')}.json`;
}

function collectFormats(schema: unknown, into: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const item of schema) collectFormats(item, into);
  } else if (isRecord(schema)) {
    if (typeof schema.format === 'string') into.add(schema.format);
    for (const value of Object.values(schema)) collectFormats(value, into);
  }
}

function describe(error: ErrorObject): SchemaViolation {
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') message = `has unknown property "${String(params.additionalProperty)}"`;
  else if (error.keyword === 'enum') message = `must be one of ${JSON.stringify(params.allowedValues)}`;
  return { pointer: error.instancePath, message };
}

/**
 * An Ajv set up for the shared schemas: non-strict (CloudFormation keywords ignored), every error reported,
 * Python-style patterns translated.
 */
export function createSchemaValidator(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, code: { regExp: pythonPattern } });
  addFormats(ajv);
  return ajv;
}

/** Compiles a schema of the shared data, registering its non-standard formats as accepting anything. */
export function compileSharedSchema(ajv: Ajv, schema: Record<string, unknown>): ValidateFunction {
  // `$schema`/`$id` name CloudFormation's meta-schema, which Ajv neither has nor needs.
  const { $schema: _schema, $id: _id, ...rest } = schema;
  const formats = new Set<string>();
  collectFormats(rest, formats);
  for (const format of formats) {
    if (!ajv.formats[format]) ajv.addFormat(format, true);
  }
  return ajv.compile(rest);
}

/** The violations a compiled validator found, one per pointer and message. */
export function violationsOf(validator: ValidateFunction): SchemaViolation[] {
  const seen = new Set<string>();
  const violations: SchemaViolation[] = [];
  for (const error of validator.errors ?? []) {
    const violation = describe(error);
    const key = `${violation.pointer} ${violation.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      violations.push(violation);
    }
  }
  return violations;
}

/** Loads schemas from a directory of `aws-<service>-<type>.json` files. */
export function loadResourceSchemas(dir: string): ResourceSchemas {
  const ajv = createSchemaValidator();
  const validators = new Map<string, ValidateFunction>();
  const raw = new Map<string, Record<string, unknown>>();

  function schemaOf(type: string): Record<string, unknown> {
    let schema = raw.get(type);
    if (schema === undefined) {
      const path = join(dir, schemaFileName(type));
      if (!existsSync(path)) throw new Error(`no CloudFormation schema for ${type} (looked for ${path})`);
      schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      raw.set(type, schema);
    }
    return schema;
  }

  function validatorOf(type: string): ValidateFunction {
    let validator = validators.get(type);
    if (validator === undefined) {
      validator = compileSharedSchema(ajv, schemaOf(type));
      validators.set(type, validator);
    }
    return validator;
  }

  return {
    has: (type) => existsSync(join(dir, schemaFileName(type))),
    validate(type, properties) {
      const validator = validatorOf(type);
      return validator(properties) ? [] : violationsOf(validator);
    },
    readOnlyProperties(type) {
      const list = schemaOf(type).readOnlyProperties;
      if (!Array.isArray(list)) return [];
      return list
        .filter((pointer): pointer is string => typeof pointer === 'string' && /^\/properties\/[^/]+$/.test(pointer))
        .map((pointer) => pointer.slice('/properties/'.length));
    },
  };
}
