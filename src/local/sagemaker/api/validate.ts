/**
 * Field checks for control-plane requests, worded as AWS words them
 * (`1 validation error detected: Value 'x' at 'modelName' failed to satisfy constraint: ...`), so scripts that
 * match on messages behave the same locally.
 */
import { ValidationExceptionError } from './errors';

/** SageMaker's pattern for model, endpoint config, endpoint, job, group, variant and container host names. */
export const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
export const NAME_PATTERN_TEXT = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}';

/** `ModelName` → `modelName`, as AWS names members in validation messages. */
function memberPath(path: string): string {
  return path.replace(/(^|\.)([A-Z])/g, (_m, dot: string, c: string) => dot + c.toLowerCase());
}

function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

export function constraintError(path: string, value: unknown, constraint: string): ValidationExceptionError {
  return new ValidationExceptionError(
    `1 validation error detected: Value '${shown(value)}' at '${memberPath(path)}' failed to satisfy constraint: ${constraint}`,
  );
}

export function missing(path: string): ValidationExceptionError {
  return new ValidationExceptionError(
    `1 validation error detected: Value null at '${memberPath(path)}' failed to satisfy constraint: Member must not be null`,
  );
}

export type Input = Record<string, unknown>;

/** The request body as an object; anything else is a validation error. */
export function asObject(value: unknown, path: string): Input {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationExceptionError(`${path} must be a JSON object`);
  }
  return value as Input;
}

export function requiredString(input: Input, key: string, path = key, maxLength = 1024): string {
  const value = input[key];
  if (value === undefined || value === null) throw missing(path);
  return checkString(value, path, maxLength);
}

export function optionalString(input: Input, key: string, path = key, maxLength = 1024): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  return checkString(value, path, maxLength);
}

function checkString(value: unknown, path: string, maxLength: number): string {
  if (typeof value !== 'string') throw constraintError(path, value, 'Member must be a string');
  if (value.length > maxLength) throw constraintError(path, value, `Member must have length less than or equal to ${maxLength}`);
  return value;
}

export function requiredName(input: Input, key: string, path = key): string {
  const value = requiredString(input, key, path, 63);
  return checkName(value, path);
}

export function optionalName(input: Input, key: string, path = key): string | undefined {
  const value = optionalString(input, key, path, 63);
  return value === undefined ? undefined : checkName(value, path);
}

export function checkName(value: string, path: string): string {
  if (!NAME_PATTERN.test(value)) throw constraintError(path, value, `Member must satisfy regular expression pattern: ${NAME_PATTERN_TEXT}`);
  return value;
}

export function optionalInteger(input: Input, key: string, path: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw constraintError(path, value, 'Member must be an integer');
  if (value < min) throw constraintError(path, value, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraintError(path, value, `Member must have value less than or equal to ${max}`);
  return value;
}

export function optionalNumber(input: Input, key: string, path: string, min: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw constraintError(path, value, 'Member must be a number');
  if (value < min) throw constraintError(path, value, `Member must have value greater than or equal to ${min}`);
  return value;
}

export function optionalBoolean(input: Input, key: string, path = key): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw constraintError(path, value, 'Member must be a boolean');
  return value;
}

export function optionalEnum<T extends string>(input: Input, key: string, path: string, allowed: readonly T[]): T | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw constraintError(path, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

export function optionalArray(input: Input, key: string, path: string, min: number, max: number): unknown[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw constraintError(path, value, 'Member must be a list');
  if (value.length < min) throw constraintError(path, value, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw constraintError(path, value, `Member must have length less than or equal to ${max}`);
  return value;
}

export function optionalObject(input: Input, key: string, path = key): Input | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw constraintError(path, value, 'Member must be a structure');
  return value as Input;
}

/** A string-to-string map such as a container's `Environment` (at most 100 entries, as AWS allows). */
export function optionalStringMap(input: Input, key: string, path: string): Record<string, string> | undefined {
  const value = optionalObject(input, key, path);
  if (value === undefined) return undefined;
  const entries = Object.entries(value);
  if (entries.length > 100) throw constraintError(path, '{...}', 'Member must have length less than or equal to 100');
  for (const [k, v] of entries) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.length > 1024) {
      throw constraintError(`${path}.${k}`, k, 'Map keys must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*');
    }
    if (typeof v !== 'string') throw constraintError(`${path}.${k}`, v, 'Member must be a string');
    if (v.length > 1024) throw constraintError(`${path}.${k}`, v, 'Member must have length less than or equal to 1024');
  }
  return value as Record<string, string>;
}

/** `Tags`: at most 50 `{Key, Value}` pairs with AWS's lengths. */
export function optionalTags(input: Input, key = 'Tags'): { Key: string; Value: string }[] | undefined {
  const tags = optionalArray(input, key, key, 0, 50);
  if (tags === undefined) return undefined;
  return tags.map((raw, i) => {
    const tag = asObject(raw, `${key}[${i}]`);
    const k = requiredString(tag, 'Key', `${key}.${i + 1}.member.Key`, 128);
    if (k.length === 0) throw constraintError(`${key}.${i + 1}.member.Key`, k, 'Member must have length greater than or equal to 1');
    const v = optionalString(tag, 'Value', `${key}.${i + 1}.member.Value`, 256) ?? '';
    return { Key: k, Value: v };
  });
}

/** An `s3://bucket/key` URL. */
export function checkS3Url(value: string, path: string): string {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(value)) {
    throw constraintError(path, value, 'Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$');
  }
  return value;
}

/** An IAM role ARN, which the emulator checks for form only (nothing assumes it locally). */
export function optionalRoleArn(input: Input, key: string): string | undefined {
  const value = optionalString(input, key, key, 2048);
  if (value === undefined) return undefined;
  if (!/^arn:aws[a-z\-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/.test(value)) {
    throw constraintError(key, value, 'Member must satisfy regular expression pattern: ^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$');
  }
  return value;
}
