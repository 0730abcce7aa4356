/**
 * The S3 layout of multi-model endpoints (DESIGN.md §2): where users drop artifacts, where live copies
 * go, and the `TargetModel` SageMaker is invoked with. Parsing never throws on a bad key: a key that is
 * not an artifact key is a normal event to be ignored with its reason, so the result says which rule
 * it breaks.
 */

/** SageMaker's pattern for endpoint (and model, config, job) names. */
export const SAGEMAKER_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export const ARTIFACT_SUFFIX = '.tar.gz';
export const SAMPLE_SUFFIX = '.sample.json';
/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;
/** SageMaker's limit on `TargetModel` length. */
export const MAX_TARGET_MODEL_LENGTH = 1024;
/** Versions are the first 16 hex digits of the SHA-256 (see `versionFromSha256`). */
export const VERSION_LENGTH = 16;

/** Rules a key can break; each is reported with a sentence naming the key. */
export type KeyRule =
  | 'bad-key-encoding'
  | 'outside-incoming'
  | 'outside-endpoint'
  | 'folder-key'
  | 'wrong-suffix'
  | 'bad-endpoint-name'
  | 'bad-model-name'
  | 'key-too-long'
  | 'outside-models'
  | 'bad-version';

export type KeyParseResult<T> = ({ ok: true } & T) | { ok: false; rule: KeyRule; reason: string };

export interface ArtifactKey {
  endpoint: string;
  model: string;
}

export interface LiveKey {
  endpoint: string;
  model: string;
  version: string;
}

/**
 * Decodes a key as S3 event notifications carry it: URL-encoded, with `+` for a space (so a literal
 * `+` arrives as `%2B`).
 */
export function decodeEventKey(encoded: string): KeyParseResult<{ key: string }> {
  try {
    return { ok: true, key: decodeURIComponent(encoded.replace(/\+/g, ' ')) };
  } catch {
    return { ok: false, rule: 'bad-key-encoding', reason: `key ${JSON.stringify(encoded)} is not valid URL encoding` };
  }
}

/** Checks an endpoint name against SageMaker's name pattern; returns the reason when it does not match. */
export function endpointNameProblem(endpoint: string): string | undefined {
  if (SAGEMAKER_NAME_PATTERN.test(endpoint)) return undefined;
  return (
    `endpoint name "${endpoint}" does not match SageMaker's pattern ${SAGEMAKER_NAME_PATTERN.source} ` +
    '(1 to 63 letters, digits and inner hyphens)'
  );
}

const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Checks a model name (the part of the key between the endpoint and `.tar.gz`, `/` allowed).
 * The rules keep the live key and the `TargetModel` unambiguous and within SageMaker's pattern for
 * `TargetModel` (`\S` then printable characters): no empty, `.` or `..` path segment, no leading
 * whitespace, no control character, no backslash.
 */
export function modelNameProblem(model: string): string | undefined {
  if (model.length === 0) return 'model name is empty';
  if (/^\s/u.test(model)) return `model name ${JSON.stringify(model)} starts with whitespace`;
  if (CONTROL_CHARACTER.test(model)) return `model name ${JSON.stringify(model)} contains a control character`;
  if (model.includes('\\')) return `model name ${JSON.stringify(model)} contains a backslash`;
  for (const segment of model.split('/')) {
    if (segment === '') return `model name ${JSON.stringify(model)} has an empty path segment (leading, trailing or double "/")`;
    if (segment === '.' || segment === '..') return `model name ${JSON.stringify(model)} has a "${segment}" path segment`;
  }
  return undefined;
}

/** Ensures a prefix setting is usable: non-empty, relative, ending in `/`. */
export function prefixProblem(prefix: string): string | undefined {
  if (!prefix) return 'is empty';
  if (prefix.startsWith('/')) return `"${prefix}" starts with "/"`;
  if (!prefix.endsWith('/')) return `"${prefix}" does not end with "/"`;
  return undefined;
}

/** `<model>/<version>.tar.gz`: what `InvokeEndpoint` takes as `TargetModel`. */
export function targetModelOf(model: string, version: string): string {
  return `${model}/${version}${ARTIFACT_SUFFIX}`;
}

/** `models/<endpoint>/<model>/<version>.tar.gz`: the immutable live copy of a version. */
export function liveKeyOf(modelsPrefix: string, endpoint: string, model: string, version: string): string {
  return `${modelsPrefix}${endpoint}/${targetModelOf(model, version)}`;
}

/** `s3://<bucket>/models/<endpoint>/`: the `ModelDataUrl` of the endpoint's multi-model container. */
export function modelDataUrlOf(bucket: string, modelsPrefix: string, endpoint: string): string {
  return `s3://${bucket}/${modelsPrefix}${endpoint}/`;
}

/** `incoming/<endpoint>/<model>.tar.gz`: where an artifact for this model is dropped. */
export function incomingKeyOf(incomingPrefix: string, endpoint: string, model: string): string {
  return `${incomingPrefix}${endpoint}/${model}${ARTIFACT_SUFFIX}`;
}

/** `incoming/<endpoint>/<model>.sample.json`: the optional warm-up payload beside the artifact. */
export function sampleKeyOf(incomingPrefix: string, endpoint: string, model: string): string {
  return `${incomingPrefix}${endpoint}/${model}${SAMPLE_SUFFIX}`;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Derives endpoint and model from a decoded drop-zone key `incoming/<endpoint>/<model>.tar.gz`.
 * Also refuses a model name whose live key or `TargetModel` would exceed S3's or SageMaker's limits,
 * so a key accepted here can always be registered.
 */
export function parseIncomingKey(
  key: string,
  layout: { incomingPrefix: string; modelsPrefix: string },
): KeyParseResult<ArtifactKey> {
  const { incomingPrefix, modelsPrefix } = layout;
  if (!key.startsWith(incomingPrefix)) {
    return { ok: false, rule: 'outside-incoming', reason: `key ${JSON.stringify(key)} is not under "${incomingPrefix}"` };
  }
  if (key.endsWith('/')) {
    return { ok: false, rule: 'folder-key', reason: `key ${JSON.stringify(key)} ends with "/" (a folder marker, not an artifact)` };
  }
  if (!key.endsWith(ARTIFACT_SUFFIX)) {
    return { ok: false, rule: 'wrong-suffix', reason: `key ${JSON.stringify(key)} does not end with "${ARTIFACT_SUFFIX}"` };
  }
  const rest = key.slice(incomingPrefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) {
    return {
      ok: false,
      rule: 'outside-endpoint',
      reason: `key ${JSON.stringify(key)} is not under "${incomingPrefix}<endpoint>/" (expected ${incomingPrefix}<endpoint>/<model>${ARTIFACT_SUFFIX})`,
    };
  }
  const endpoint = rest.slice(0, slash);
  const endpointProblem = endpointNameProblem(endpoint);
  if (endpointProblem) return { ok: false, rule: 'bad-endpoint-name', reason: `key ${JSON.stringify(key)}: ${endpointProblem}` };
  const model = rest.slice(slash + 1, rest.length - ARTIFACT_SUFFIX.length);
  const modelProblem = modelNameProblem(model);
  if (modelProblem) return { ok: false, rule: 'bad-model-name', reason: `key ${JSON.stringify(key)}: ${modelProblem}` };
  const longestLiveKey = liveKeyOf(modelsPrefix, endpoint, model, '0'.repeat(VERSION_LENGTH));
  if (utf8Length(longestLiveKey) > MAX_S3_KEY_BYTES || targetModelOf(model, '0'.repeat(VERSION_LENGTH)).length > MAX_TARGET_MODEL_LENGTH) {
    return {
      ok: false,
      rule: 'key-too-long',
      reason: `key ${JSON.stringify(key)}: model name is too long for its live key (at most ${MAX_S3_KEY_BYTES} bytes) or TargetModel (at most ${MAX_TARGET_MODEL_LENGTH} characters)`,
    };
  }
  return { ok: true, endpoint, model };
}

const VERSION_PATTERN = new RegExp(`^[0-9a-f]{${VERSION_LENGTH}}$`);

/** Derives endpoint, model and version from a live key `models/<endpoint>/<model>/<version>.tar.gz`. */
export function parseLiveKey(key: string, modelsPrefix: string): KeyParseResult<LiveKey> {
  if (!key.startsWith(modelsPrefix)) {
    return { ok: false, rule: 'outside-models', reason: `key ${JSON.stringify(key)} is not under "${modelsPrefix}"` };
  }
  if (!key.endsWith(ARTIFACT_SUFFIX)) {
    return { ok: false, rule: 'wrong-suffix', reason: `key ${JSON.stringify(key)} does not end with "${ARTIFACT_SUFFIX}"` };
  }
  const rest = key.slice(modelsPrefix.length, key.length - ARTIFACT_SUFFIX.length);
  const firstSlash = rest.indexOf('/');
  const lastSlash = rest.lastIndexOf('/');
  if (firstSlash < 0 || lastSlash === firstSlash) {
    return {
      ok: false,
      rule: 'outside-endpoint',
      reason: `key ${JSON.stringify(key)} is not of the form ${modelsPrefix}<endpoint>/<model>/<version>${ARTIFACT_SUFFIX}`,
    };
  }
  const endpoint = rest.slice(0, firstSlash);
  const model = rest.slice(firstSlash + 1, lastSlash);
  const version = rest.slice(lastSlash + 1);
  const endpointProblem = endpointNameProblem(endpoint);
  if (endpointProblem) return { ok: false, rule: 'bad-endpoint-name', reason: `key ${JSON.stringify(key)}: ${endpointProblem}` };
  const modelProblem = modelNameProblem(model);
  if (modelProblem) return { ok: false, rule: 'bad-model-name', reason: `key ${JSON.stringify(key)}: ${modelProblem}` };
  if (!VERSION_PATTERN.test(version)) {
    return { ok: false, rule: 'bad-version', reason: `key ${JSON.stringify(key)}: "${version}" is not a version (${VERSION_LENGTH} lowercase hex digits)` };
  }
  return { ok: true, endpoint, model, version };
}
