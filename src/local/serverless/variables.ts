/**
 * Resolves the Serverless Framework variables that `serverless.yml` may use locally: `self:`, `sls:stage`,
 * `aws:region`, `aws:accountId`, `opt:`, `param:`, `env:`, `file(...)`, with `, fallback` chains and nesting.
 * `${...}` texts of other shapes (`${AWS::Region}`, `${Bucket.Arn}`) are CloudFormation `Fn::Sub`
 * placeholders and are left for the intrinsic resolver.
 */

import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { load } from 'js-yaml';
import { ServerlessVariableError } from './errors';

export interface VariableSources {
  /** `--stage`, `--region`, ... as given on a `serverless` command line. */
  options: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
  accountId: string;
  /** Folder `${file(...)}` paths are relative to: the one holding `serverless.yml`. */
  baseDir?: string;
}

const SOURCES = ['self', 'sls', 'aws', 'opt', 'param', 'env', 'file'];
const UNSUPPORTED_SOURCES = ['cf', 's3', 'ssm', 'sqs', 'git', 'strToBool'];
/** An innermost `${...}`: nothing nested inside it. */
const INNERMOST = /\$\{([^${}]+)\}/g;
const MAX_PASSES = 20;

type Json = unknown;

function getPath(root: Json, path: string): Json {
  if (path === '') return root;
  let current: Json = root;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, Json>)[part];
  }
  return current;
}

function isVariableText(text: string): boolean {
  const first = text.split(',')[0]!.trim();
  const source = /^([a-zA-Z]+)(?:\(|:)/.exec(first)?.[1];
  return source !== undefined && (SOURCES.includes(source) || UNSUPPORTED_SOURCES.includes(source));
}

/**
 * Resolves every variable in a parsed `serverless.yml`. `self:` refers to the document itself, resolved
 * on demand, so a value may reference another that holds variables of its own.
 */
export function resolveVariables(document: Record<string, Json>, sources: VariableSources): Record<string, Json> {
  const resolving = new Set<string>();

  const stage = (): string => {
    const value = sources.options.stage ?? resolveAt('provider.stage') ?? 'dev';
    return String(value);
  };
  const region = (): string => String(sources.options.region ?? resolveAt('provider.region') ?? 'us-east-1');

  function resolveAt(path: string): Json {
    if (resolving.has(path)) throw new ServerlessVariableError(`serverless.yml: \${self:${path}} refers to itself`);
    resolving.add(path);
    try {
      return resolveValue(getPath(document, path), path);
    } finally {
      resolving.delete(path);
    }
  }

  function sourceValue(reference: string, where: string): Json {
    const text = reference.trim();
    const literal = /^(['"])(.*)\1$/.exec(text);
    if (literal) return literal[2];
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    if (text === 'null') return null;
    const file = /^file\(([^)]+)\)(?::(.+))?$/.exec(text);
    if (file) return fileValue(file[1]!.trim().replace(/^(['"])(.*)\1$/, '$2'), file[2]?.trim(), where);
    const colon = text.indexOf(':');
    // A bare word is what a nested fallback (`${opt:stage, ${self:x}}`) leaves behind once resolved.
    if (colon < 0 && /^[\w.-]+$/.test(text)) return text;
    const source = colon < 0 ? text : text.slice(0, colon);
    const address = colon < 0 ? '' : text.slice(colon + 1);
    switch (source) {
      case 'self':
        return resolveAt(address);
      case 'sls':
        if (address === 'stage') return stage();
        if (address === 'instanceId') return 'local';
        break;
      case 'aws':
        if (address === 'region') return region();
        if (address === 'accountId') return sources.accountId;
        break;
      case 'opt':
        if (address === 'stage') return sources.options.stage;
        if (address === 'region') return sources.options.region;
        return sources.options[address];
      case 'env':
        return sources.env[address];
      case 'param': {
        const params = resolveAt('params') as Record<string, Record<string, Json>> | undefined;
        return params?.[stage()]?.[address] ?? params?.default?.[address];
      }
      default:
        break;
    }
    throw new ServerlessVariableError(
      `serverless.yml at ${where}: the variable \${${reference}} is not supported locally ` +
        `(supported: self:, sls:stage, aws:region, aws:accountId, opt:, param:, env:, file(...))`,
    );
  }

  /**
   * `${file(path)}` and `${file(path):a.b}`: a JSON or YAML file (any other file as text) beside
   * serverless.yml, whose own variables are resolved too, as the framework does (the state machine
   * definitions are loaded so). Paths inside an included file are relative to the service folder too, as
   * the framework resolves them.
   */
  function fileValue(path: string, address: string | undefined, where: string): Json {
    const full = resolvePath(sources.baseDir ?? process.cwd(), path);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (error) {
      throw new ServerlessVariableError(`serverless.yml at ${where}: \${file(${path})} cannot be read: ${(error as Error).message}`);
    }
    const format = /\.json$/i.test(path) ? 'JSON' : /\.ya?ml$/i.test(path) ? 'YAML' : 'text';
    let parsed: Json;
    try {
      parsed = format === 'JSON' ? JSON.parse(text) : format === 'YAML' ? load(text) : text;
    } catch (error) {
      throw new ServerlessVariableError(`serverless.yml at ${where}: \${file(${path})} is not valid ${format}: ${(error as Error).message}`);
    }
    const value = address === undefined ? parsed : getPath(parsed, address);
    return resolveValue(value, `file(${path})${address ? `:${address}` : ''}`);
  }

  /** Resolves `a, b, 'c'`: the first reference that yields a value. */
  function resolveReference(body: string, where: string): Json {
    const alternatives = splitFallbacks(body);
    for (const alternative of alternatives) {
      const value = sourceValue(alternative, where);
      if (value !== undefined && value !== null) return value;
    }
    throw new ServerlessVariableError(
      `serverless.yml at ${where}: \${${body}} has no value and no fallback (add one, e.g. \${${alternatives[0]!.trim()}, 'default'})`,
    );
  }

  function resolveString(text: string, where: string): Json {
    let current = text;
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      const whole = /^\$\{([^${}]+)\}$/.exec(current);
      if (whole && isVariableText(whole[1]!)) {
        const value = resolveReference(whole[1]!, where);
        return typeof value === 'string' ? resolveString(value, where) : value;
      }
      let changed = false;
      current = current.replace(INNERMOST, (match, body: string) => {
        if (!isVariableText(body)) return match;
        changed = true;
        const value = resolveReference(body, where);
        if (value !== null && typeof value === 'object') {
          throw new ServerlessVariableError(
            `serverless.yml at ${where}: \${${body}} is an object and cannot be embedded in the text "${text}"; it must be the whole value`,
          );
        }
        return String(value);
      });
      if (!changed) return current;
    }
    throw new ServerlessVariableError(`serverless.yml at ${where}: variables in "${text}" nest too deeply`);
  }

  function resolveValue(value: Json, where: string): Json {
    if (typeof value === 'string') return value.includes('${') ? resolveString(value, where) : value;
    if (Array.isArray(value)) return value.map((item, index) => resolveValue(item, `${where}[${index}]`));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, Json> = {};
      for (const [key, item] of Object.entries(value)) out[key] = resolveValue(item, where ? `${where}.${key}` : key);
      return out;
    }
    return value;
  }

  return resolveValue(document, '') as Record<string, Json>;
}

/** Splits `opt:stage, self:provider.stage, 'dev'` at top-level commas (not inside quotes). */
function splitFallbacks(body: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const char of body) {
    if (quote) {
      if (char === quote) quote = undefined;
      current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      current += char;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}
