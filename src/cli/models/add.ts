import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Command } from 'commander';
import { incomingKeyOf, sampleKeyOf } from '../../multimodel/layout';
import { normalizeETag, type Registry, type UploadOutcome } from '../../multimodel/registry';
import type { CommandHost } from '../command';
import { ExitCode, InvalidInputError } from '../errors';
import { endpointKind, type EndpointKind } from './endpoint-kind';
import {
  CLI_LAYOUT,
  checkModelNameForAdd,
  parseEndpointAndModel,
  parseInput,
  s3UrlSchema,
  secondsSchema,
  type S3Location,
} from '../inputs';
import { renderAdd } from '../output';
import { copyObject, fileSize, isSinglePartUpload, uploadFile, type StoredObject } from '../s3-transfer';
import { waitForUploadOutcome } from '../wait-for-upload';

/** InvokeEndpoint refuses payloads over 6 MB, so a larger warm-up sample could never be sent. */
export const MAX_SAMPLE_BYTES = 6 * 1024 * 1024;
export const DEFAULT_ADD_TIMEOUT_SECONDS = 600;

export type ArtifactSource = { kind: 'file'; path: string } | { kind: 's3'; location: S3Location };

export interface AddModelInput {
  endpoint: string;
  model: string;
  source: ArtifactSource;
  /** Local JSON file uploaded as the warm-up payload beside the artifact. */
  samplePath?: string;
  /** Wait for the registration outcome (default true). */
  wait?: boolean;
  timeoutMs?: number;
  /** Upload even to an endpoint that exists and is not multi-model. */
  force?: boolean;
}

export interface AddModelDependencies {
  s3: S3Client;
  registry: Registry;
  bucket: string;
  /** When given, the endpoint is checked before anything is uploaded (see {@link endpointKind}). */
  sagemaker?: SageMakerClient;
  log?: (message: string) => void;
  /** Passed to the wait, for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface AddModelResult {
  endpoint: string;
  model: string;
  bucket: string;
  key: string;
  /** ETag of the object this command stored (without quotes). */
  etag: string;
  size: number;
  sampleKey?: string;
  /** The registration outcome; absent with `wait: false`. */
  outcome?: UploadOutcome;
}

/**
 * Adds a model to a multi-model endpoint the way `MultiDataModel.add_model` does, but through the drop
 * zone: the endpoint checked first (a missing one is reported, one that is not multi-model refused unless
 * `force`), then the optional sample (so registration finds it), then the artifact (a local file is
 * uploaded, streaming; an `s3://` object is copied server-side), then the registration outcome of that
 * very object (its key and ETag) is awaited.
 */
export async function addModel(deps: AddModelDependencies, input: AddModelInput): Promise<AddModelResult> {
  const log = deps.log ?? (() => undefined);
  const key = incomingKeyOf(CLI_LAYOUT.incomingPrefix, input.endpoint, input.model);
  const sample = input.samplePath ? await readSample(input.samplePath) : undefined;
  if (input.source.kind === 'file') await fileSize(input.source.path, 'file');
  if (deps.sagemaker) {
    reportEndpointKind(await endpointKind(deps.sagemaker, input.endpoint), input.endpoint, Boolean(input.force), log);
  }

  let sampleKey: string | undefined;
  if (sample) {
    sampleKey = sampleKeyOf(CLI_LAYOUT.incomingPrefix, input.endpoint, input.model);
    log(`uploading sample to s3://${deps.bucket}/${sampleKey}`);
    await deps.s3.send(
      new PutObjectCommand({ Bucket: deps.bucket, Key: sampleKey, Body: sample, ContentType: 'application/json' }),
    );
  }

  // Taken before the upload can be processed, so an earlier upload of the same bytes (same ETag) is
  // never mistaken for this one. An object already in place is not stored anew: any outcome is its own.
  const inPlace = isInPlace(input.source, deps.bucket, key);
  const expected = inPlace ? undefined : await expectedETag(deps.s3, input.source);
  const previous = inPlace
    ? null
    : expected && input.wait !== false
      ? ((await deps.registry.findUpload(key, expected)) ?? null)
      : undefined;

  const stored = await storeArtifact(deps, input.source, key, log);
  const storedAt = await lastModified(deps.s3, stored);
  const result: AddModelResult = {
    endpoint: input.endpoint,
    model: input.model,
    bucket: deps.bucket,
    key,
    etag: normalizeETag(stored.etag),
    size: stored.size,
    ...(sampleKey ? { sampleKey } : {}),
  };
  if (input.wait === false) return result;

  log(`waiting for registration of ${key} (ETag ${result.etag})`);
  const outcome = await waitForUploadOutcome(deps.registry, {
    key,
    etag: stored.etag,
    storedAt,
    ...(previous !== undefined && (inPlace || normalizeETag(stored.etag) === expected) ? { previous } : {}),
    timeoutMs: input.timeoutMs ?? DEFAULT_ADD_TIMEOUT_SECONDS * 1000,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  return { ...result, outcome };
}

async function storeArtifact(
  deps: AddModelDependencies,
  source: ArtifactSource,
  key: string,
  log: (message: string) => void,
): Promise<StoredObject> {
  const target = { bucket: deps.bucket, key };
  if (source.kind === 'file') {
    log(`uploading ${source.path} to s3://${deps.bucket}/${key}`);
    return uploadFile(deps.s3, source.path, { ...target, contentType: 'application/gzip' });
  }
  const { bucket, key: sourceKey } = source.location;
  if (isInPlace(source, deps.bucket, key)) {
    // S3 refuses a copy onto itself: wait for the outcome of the object as it is.
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { bucket, key, etag: head.ETag ?? '', size: head.ContentLength ?? 0 };
  }
  log(`copying s3://${bucket}/${sourceKey} to s3://${deps.bucket}/${key}`);
  return copyObject(deps.s3, { bucket, key: sourceKey }, target);
}

function isInPlace(source: ArtifactSource, bucket: string, key: string): boolean {
  return source.kind === 's3' && source.location.bucket === bucket && source.location.key === key;
}

/**
 * The ETag S3 will give the stored object, when it can be known cheaply: the MD5 of a file small
 * enough for one PutObject, or the ETag of a single-part source object (a copy keeps it). Multipart
 * and KMS-encrypted objects have other ETags; for them the caller falls back to timestamps.
 */
async function expectedETag(s3: S3Client, source: ArtifactSource): Promise<string | undefined> {
  if (source.kind === 'file') {
    const size = await fileSize(source.path, 'file');
    if (!isSinglePartUpload(size)) return undefined;
    const hash = createHash('md5');
    for await (const chunk of createReadStream(source.path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
  const { bucket, key } = source.location;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const etag = head.ETag ? normalizeETag(head.ETag) : undefined;
    return etag && /^[0-9a-f]{32}$/.test(etag) ? etag : undefined;
  } catch {
    // The copy reports a missing or unreadable source with a clear error; no snapshot is needed for that.
    return undefined;
  }
}

async function lastModified(s3: S3Client, stored: StoredObject): Promise<Date> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: stored.bucket, Key: stored.key }));
  // If the object was replaced in between, its outcome is still looked up by our ETag: the
  // registration then records ours as superseded.
  return head.LastModified ?? new Date();
}

async function readSample(path: string): Promise<Buffer> {
  const size = await fileSize(path, '--sample');
  if (size > MAX_SAMPLE_BYTES) {
    throw new InvalidInputError(`--sample "${path}"`, `is ${size} bytes; InvokeEndpoint accepts at most 6 MB`);
  }
  const body = await readFile(path);
  try {
    JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`--sample "${path}"`, `must be a JSON document (${(error as Error).message})`);
  }
  return body;
}

/** Parses the `<file|s3://bucket/key>` argument. */
export function parseArtifactSource(value: string): ArtifactSource {
  if (value.startsWith('s3://')) return { kind: 's3', location: parseInput(s3UrlSchema, value, 'source') };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new InvalidInputError(`source "${value}"`, 'must be a local file or an s3://bucket/key URL');
  }
  return { kind: 'file', path: value };
}

/** Exit code of an add: 0 when the upload was registered and served, 1 when it was refused or failed. */
export function addExitCode(result: AddModelResult): 0 | 1 {
  const outcome = result.outcome;
  if (!outcome) return ExitCode.Ok;
  if (outcome.outcome !== 'registered') return ExitCode.Failed;
  return outcome.versionStatus === 'failed' ? ExitCode.Failed : ExitCode.Ok;
}

/** The endpoint exists and serves one model or a pipeline: SageMaker would refuse every `TargetModel` sent to it. */
export class NotMultiModelEndpointError extends InvalidInputError {
  constructor(endpoint: string, what: string) {
    super(
      `endpoint "${endpoint}"`,
      `is not a multi-model endpoint (${what}); models are added only to multi-model endpoints, since SageMaker ` +
        'refuses TargetModel elsewhere (nothing was uploaded; --force uploads anyway, e.g. before the endpoint is redeployed as multi-model)',
    );
  }
}

/**
 * Says on stderr what the endpoint check found before anything is uploaded, or refuses an endpoint that is
 * not multi-model unless `force`.
 */
export function reportEndpointKind(kind: EndpointKind, endpoint: string, force: boolean, log: (line: string) => void): void {
  switch (kind.kind) {
    case 'multi-model':
      return;
    case 'missing':
      log(
        `warning: endpoint "${endpoint}" not found; the model is registered now and served once a multi-model ` +
          'endpoint of that name is deployed',
      );
      return;
    case 'not-multi-model':
      if (!force) throw new NotMultiModelEndpointError(endpoint, kind.what);
      log(`warning: endpoint "${endpoint}" is not multi-model (${kind.what}); uploading anyway (--force)`);
      return;
    case 'unknown':
      log(`warning: could not check endpoint "${endpoint}" (${kind.reason}); uploading anyway`);
  }
}

/** `smhost models add <endpoint> <model> <file|s3://bucket/key> [--sample file.json] [--timeout s] [--no-wait] [--force]` */
export function registerAddCommand(models: Command, host: CommandHost): void {
  models
    .command('add')
    .description('upload (or copy from S3) a model artifact into the drop zone and wait for its registration')
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name (may contain "/"), without .tar.gz')
    .argument('<source>', 'local .tar.gz file, or s3://bucket/key to copy server-side')
    .option('--sample <file>', 'JSON payload used to warm the model up, uploaded beside the artifact first')
    .option('--timeout <seconds>', `how long to wait for the registration outcome (default: ${DEFAULT_ADD_TIMEOUT_SECONDS})`)
    .option('--no-wait', 'upload only, do not wait for the registration outcome')
    .option('--force', 'upload even when the endpoint exists and is not multi-model (e.g. before it is redeployed as one)')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string, source: string, opts: AddOptions) => {
        const names = parseEndpointAndModel(endpoint, model);
        checkModelNameForAdd(names.model);
        const artifact = parseArtifactSource(source);
        const timeoutSeconds = parseInput(secondsSchema, opts.timeout ?? String(DEFAULT_ADD_TIMEOUT_SECONDS), '--timeout');
        const ctx = context();
        const result = await addModel(
          {
            s3: ctx.clients.s3,
            registry: ctx.registry,
            bucket: await ctx.bucket(),
            sagemaker: ctx.clients.sagemaker,
            log: (m) => output.log(m),
          },
          {
            force: Boolean(opts.force),
            ...names,
            source: artifact,
            ...(opts.sample ? { samplePath: opts.sample } : {}),
            wait: opts.wait,
            timeoutMs: timeoutSeconds * 1000,
          },
        );
        output.result(result, renderAdd(result));
        const code = addExitCode(result);
        if (code !== ExitCode.Ok) output.log(`smhost: ${describeRefusal(result.outcome)}`);
        return code;
      }),
    );
}

interface AddOptions {
  sample?: string;
  timeout?: string;
  wait: boolean;
  force?: boolean;
}

function describeRefusal(outcome: UploadOutcome | undefined): string {
  if (!outcome) return 'not registered';
  if (outcome.outcome === 'registered') {
    return `version ${outcome.version} was registered but failed its warm-up: ${outcome.reason ?? 'no reason recorded'}`;
  }
  return `upload ${outcome.outcome}: ${outcome.reason ?? 'no reason recorded'}`;
}

