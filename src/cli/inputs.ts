import { z } from 'zod';
import {
  ARTIFACT_SUFFIX,
  endpointNameProblem,
  incomingKeyOf,
  modelNameProblem,
  parseIncomingKey,
  VERSION_LENGTH,
} from '../multimodel/layout';
import { InvalidInputError } from './errors';

/**
 * Schemas of every command-line input. Each rule's message is written for a person reading a terminal:
 * the failing input is named by the caller (`parseInput`), the message says the rule.
 */

/** A version is the first 16 hex digits of the archive's SHA-256 (DESIGN.md §2). */
export const VERSION_PATTERN = new RegExp(`^[0-9a-f]{${VERSION_LENGTH}}$`);

/** The layout the command line writes to: the defaults of the registration function's settings. */
export const CLI_LAYOUT = { incomingPrefix: 'incoming/', modelsPrefix: 'models/' } as const;

/** The rules are the registration's own (src/multimodel/layout.ts), so the CLI accepts exactly what it can register. */
export const endpointNameSchema = z.string().superRefine((name, ctx) => {
  const problem = endpointNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * A model name as it appears in `incoming/<endpoint>/<model>.tar.gz`: it may contain `/` (S3 "folders"),
 * but every segment must be a real name, because it becomes part of keys and of the `TargetModel`.
 */
export const modelNameSchema = z.string().superRefine((name, ctx) => {
  const problem = modelNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const versionSchema = z
  .string()
  .regex(VERSION_PATTERN, 'must be 16 lowercase hex digits (the start of the archive SHA-256)');

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` with a bucket name valid for S3 and a non-empty key that is not a "folder". */
export const s3UrlSchema = z
  .string()
  .regex(/^s3:\/\//, 'must start with s3://')
  .transform((url, ctx): S3Location => {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
      ctx.addIssue({
        code: 'custom',
        message: `bucket "${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, "." or "-")`,
      });
      return z.NEVER;
    }
    if (key === '' || key.endsWith('/')) {
      ctx.addIssue({ code: 'custom', message: 'must name an object (s3://bucket/key, the key not ending in "/")' });
      return z.NEVER;
    }
    return { bucket, key };
  });

/** A whole number ≥ 1 given as an option value. */
export const positiveIntegerSchema = z
  .string()
  .regex(/^\d+$/, 'must be a positive whole number')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n) && n >= 1, 'must be at least 1');

/** A duration in seconds, fractions allowed (a short wait is handy in tests and scripts). */
export const secondsSchema = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a positive number of seconds, such as 30 or 0.5')
  .transform(Number)
  .refine((n) => n > 0 && n <= 24 * 3600, 'must be more than 0 and at most 86400 seconds');

/** A JSON document given inline (`--data`). */
export const jsonTextSchema = z.string().refine((text) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}, 'must be a JSON document');

/** A MIME type as sent in Content-Type / Accept. */
export const mimeTypeSchema = z
  .string()
  .regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;.*)?$/, 'must be a MIME type such as application/json');

/**
 * Parses one input with its schema, turning the first rule it breaks into an {@link InvalidInputError}
 * that names the input (e.g. `invalid endpoint "my_ep": must match ...`).
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, inputName: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const shown = typeof value === 'string' ? ` ${JSON.stringify(value)}` : '';
  throw new InvalidInputError(`${inputName}${shown}`, issue?.message ?? 'is not valid');
}

/**
 * Parses the endpoint and model arguments most verbs start with, including the limits their keys must
 * fit (S3's 1024-byte keys, SageMaker's 1024-character `TargetModel`).
 */
export function parseEndpointAndModel(endpoint: unknown, model: unknown): { endpoint: string; model: string } {
  const e = parseInput(endpointNameSchema, endpoint, 'endpoint');
  const m = parseInput(modelNameSchema, model, 'model');
  const parsed = parseIncomingKey(incomingKeyOf(CLI_LAYOUT.incomingPrefix, e, m), CLI_LAYOUT);
  if (!parsed.ok) throw new InvalidInputError(`model ${JSON.stringify(shorten(m))}`, parsed.reason);
  return { endpoint: e, model: m };
}

/**
 * `add` names the model without its suffix; `m1.tar.gz` would register a model called `m1.tar.gz`,
 * which is legal in S3 but almost certainly a slip.
 */
export function checkModelNameForAdd(model: string): void {
  if (model.endsWith(ARTIFACT_SUFFIX)) {
    throw new InvalidInputError(
      `model ${JSON.stringify(shorten(model))}`,
      `must not end with "${ARTIFACT_SUFFIX}" (give the model name; the suffix is added)`,
    );
  }
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
