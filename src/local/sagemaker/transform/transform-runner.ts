/**
 * Runs transform jobs: brings up the job's own containers (the model's, single or a serial pipeline, through
 * the same code as endpoints), reads each input object, cuts it into records, batches them under
 * `MaxPayloadInMB`, keeps `MaxConcurrentTransforms` requests in flight per instance, applies
 * `DataProcessing`, writes `<S3OutputPath>/<relative key>.out`, and tears the containers down.
 *
 * Outcomes, as SageMaker defines them:
 * - an object is written only when every one of its batches succeeded; a failing object does not stop the
 *   others, and the job ends `Failed` with a reason naming the failed object(s);
 * - a batch is retried `InvocationsMaxRetries` times (default 3) on a container error or a timeout
 *   (`InvocationsTimeoutInSeconds`, default 600);
 * - a record larger than `MaxPayloadInMB` fails its object;
 * - an empty object has no records: an empty `.out` is written and the container is not called;
 * - binary records pass through untouched (`SplitType: None` sends the object as it is); filtering or joining
 *   them fails the job, since only CSV and JSON records can be read;
 * - `StopTransformJob` cancels what has not been sent, waits for requests in flight, stops the containers
 *   and ends `Stopped`.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { scaledMs } from '../../time-scale';
import type { TransformRunner } from '../api/context';
import { ContainerTimeoutError } from '../containers/container-process';
import { abortableDelay } from '../hosting/abortable-delay';
import { bringUpDeployment, DeploymentFailedError, stopDeployment, type Deployment, type RunningInstance } from '../hosting/deployment';
import type { EndpointLifecycle } from '../hosting/endpoint-lifecycle';
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { filterInput, processOutput, recordFormat, RecordProcessingError, type OutputProcessing } from './data-processing';
import { parseJsonPath, type JsonPath } from './json-path';
import { listInputObjects, outputLocation, readObject, TransformInputError, type InputObject } from './input-objects';
import { framingBytes, joinRecords, lineBatches, LineTooLargeError, RecordFormatError, splitRecords, type SplitType } from './records';

export interface TransformRunnerDeps {
  s3: S3Client;
  lifecycle: EndpointLifecycle;
  logsDir: string;
  /** AWS seconds of instance provisioning before the job's containers start (scaled). */
  provisioningSeconds: number;
  timeScale: number;
}

/** One object failed; the job goes on with the others and ends `Failed` with this reason. */
class ObjectFailedError extends Error {
  override readonly name = 'ObjectFailedError';
}

class StoppedError extends Error {
  override readonly name = 'StoppedError';
}

interface Settings {
  split: SplitType;
  contentType: string | undefined;
  accept: string | undefined;
  compression: string;
  strategy: 'SingleRecord' | 'MultiRecord';
  maxPayloadBytes: number;
  maxConcurrent: number;
  timeoutMs: number;
  maxRetries: number;
  assembleWithLine: boolean;
  inputFilter: JsonPath | undefined;
  output: OutputProcessing;
  /** Each record's prediction is needed on its own (to join or filter it). */
  perRecord: boolean;
}

const MIB = 1024 * 1024;

/** A counting semaphore: at most `size` holders at once, served in arrival order. */
class Slots {
  private waiting: Array<() => void> = [];
  private free: number;

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

function record(value: unknown): ResourceRecord {
  return typeof value === 'object' && value !== null ? (value as ResourceRecord) : {};
}

/** Reads `GET /execution-parameters` of the first container, for the settings the job leaves out. */
async function executionParameters(instance: RunningInstance): Promise<Record<string, unknown>> {
  try {
    const answer = await instance.containers[0]!.process.request('GET', '/execution-parameters', {}, undefined, 5_000);
    if (answer.status !== 200) return {};
    const parsed = JSON.parse(answer.body.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

async function resolveSettings(job: ResourceRecord, instance: RunningInstance): Promise<Settings> {
  const input = record(job.TransformInput);
  const output = record(job.TransformOutput);
  const client = record(job.ModelClientConfig);
  const processing = record(job.DataProcessing);
  const needsDefaults = job.MaxConcurrentTransforms === undefined || job.BatchStrategy === undefined || job.MaxPayloadInMB === undefined;
  const advertised = needsDefaults ? await executionParameters(instance) : {};
  const number = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
  const advertisedStrategy = advertised.BatchStrategy === 'SINGLE_RECORD' ? 'SingleRecord' : advertised.BatchStrategy === 'MULTI_RECORD' ? 'MultiRecord' : undefined;
  const strategy = (job.BatchStrategy as Settings['strategy'] | undefined) ?? advertisedStrategy ?? 'MultiRecord';
  const maxPayloadMb = number(job.MaxPayloadInMB, number(advertised.MaxPayloadInMB, 6));
  const maxConcurrent = Math.max(1, number(job.MaxConcurrentTransforms, number(advertised.MaxConcurrentTransforms, 1)) || 1);
  const inputFilter = typeof processing.InputFilter === 'string' && processing.InputFilter !== '' ? parseJsonPath(processing.InputFilter) : undefined;
  const outputFilter = typeof processing.OutputFilter === 'string' && processing.OutputFilter !== '' ? parseJsonPath(processing.OutputFilter) : undefined;
  const join = processing.JoinSource === 'Input';
  const contentType = input.ContentType as string | undefined;
  const accept = output.Accept as string | undefined;
  const settings: Settings = {
    split: ((input.SplitType as string | undefined) ?? 'None') as SplitType,
    contentType,
    accept,
    compression: (input.CompressionType as string | undefined) ?? 'None',
    strategy,
    maxPayloadBytes: maxPayloadMb === 0 ? Number.POSITIVE_INFINITY : maxPayloadMb * MIB,
    maxConcurrent,
    timeoutMs: number(client.InvocationsTimeoutInSeconds, 600) * 1000,
    maxRetries: number(client.InvocationsMaxRetries, 3),
    assembleWithLine: output.AssembleWith === 'Line',
    inputFilter: inputFilter && !inputFilter.isRoot ? inputFilter : undefined,
    output: { inputFormat: recordFormat(contentType), outputFormat: recordFormat(accept), join, outputFilter },
    perRecord: join || (outputFilter !== undefined && !outputFilter.isRoot),
  };
  if (settings.inputFilter && !settings.output.inputFormat) {
    throw new ObjectFailedError(`ClientError: InputFilter needs CSV or JSON input records; ContentType is ${JSON.stringify(contentType ?? '(none)')}.`);
  }
  if (join && !settings.output.inputFormat) {
    throw new ObjectFailedError(`ClientError: JoinSource Input needs CSV or JSON input records; ContentType is ${JSON.stringify(contentType ?? '(none)')}.`);
  }
  if (settings.split === ('TFRecord' as SplitType)) throw new ObjectFailedError('ClientError: SplitType TFRecord is not supported by the local emulator; use None, Line or RecordIO.');
  return settings;
}

interface Batch {
  records: Buffer[];
  /** 1-based number of the first record, for messages. */
  first: number;
}

function recordTooLarge(record: number, bytes: number, where: string, settings: Settings): ObjectFailedError {
  return new ObjectFailedError(
    `ClientError: Record ${record} of ${where} is ${bytes} bytes, over MaxPayloadInMB (${settings.maxPayloadBytes / MIB} MB). Increase MaxPayloadInMB or split the object into smaller records.`,
  );
}

function batchesOf(records: Buffer[], settings: Settings, where: string): Batch[] {
  const batches: Batch[] = [];
  let current: Buffer[] = [];
  let size = 0;
  let first = 1;
  records.forEach((rec, i) => {
    const bytes = rec.length + framingBytes(settings.split, rec);
    if (bytes > settings.maxPayloadBytes) throw recordTooLarge(i + 1, bytes, where, settings);
    if (current.length > 0 && (settings.strategy === 'SingleRecord' || size + bytes > settings.maxPayloadBytes)) {
      batches.push({ records: current, first });
      first = i + 1;
      current = [];
      size = 0;
    }
    current.push(rec);
    size += bytes;
  });
  if (current.length > 0) batches.push({ records: current, first });
  return batches;
}

/** Splits a batch's answer into one prediction per record: one line each, or the whole answer for one record. */
function predictionsOf(answer: Buffer, count: number, where: string): Buffer[] {
  if (count === 1) return [answer];
  const lines = splitRecords(answer, 'Line');
  if (lines.length !== count) {
    throw new ObjectFailedError(
      `ClientError: The model answered ${lines.length} line(s) for ${count} records in ${where}; to join or filter predictions with MultiRecord the answer must have one line per record (use Accept text/csv or BatchStrategy SingleRecord).`,
    );
  }
  return lines;
}

export function createTransformRunner(deps: TransformRunnerDeps): TransformRunner {
  return async (job, signal, update) => {
    const name = String(job.TransformJobName);
    const logFolder = join('transform-jobs', name);
    mkdirSync(join(deps.logsDir, logFolder), { recursive: true });
    const log: WriteStream = createWriteStream(join(deps.logsDir, logFolder, 'transform.log'), { flags: 'a' });
    const say = (line: string) => log.write(`${new Date().toISOString()} ${line}\n`);
    let deployment: Deployment | undefined;
    try {
      const resources = record(job.TransformResources);
      const config: ResourceRecord = {
        EndpointConfigName: name,
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: job.ModelName, InitialInstanceCount: resources.InstanceCount ?? 1, InstanceType: resources.InstanceType }],
      };
      const models = deps.lifecycle.modelsOf(config);
      const model = models.get(String(job.ModelName).toLowerCase());
      if (!model) throw new ObjectFailedError(`ClientError: Could not find model "${job.ModelName}".`);
      const containers = (model.Containers as ResourceRecord[] | undefined) ?? [record(model.PrimaryContainer)];
      if (containers.some((c) => c.Mode === 'MultiModel')) throw new ObjectFailedError('ClientError: Transform jobs cannot use a model whose container has Mode MultiModel.');
      const batchEnvironment: Record<string, string> = {
        ...((job.Environment as Record<string, string> | undefined) ?? {}),
        SAGEMAKER_BATCH: 'true',
        ...(job.MaxPayloadInMB !== undefined ? { SAGEMAKER_MAX_PAYLOAD_IN_MB: String(job.MaxPayloadInMB) } : {}),
        ...(job.BatchStrategy !== undefined ? { SAGEMAKER_BATCH_STRATEGY: job.BatchStrategy === 'SingleRecord' ? 'SINGLE_RECORD' : 'MULTI_RECORD' } : {}),
        ...(job.MaxConcurrentTransforms !== undefined ? { SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: String(job.MaxConcurrentTransforms) } : {}),
      };
      await abortableDelay(scaledMs(deps.provisioningSeconds, deps.timeScale), signal, () => new StoppedError('stopped'));
      say(`starting containers of model ${job.ModelName}`);
      deployment = await bringUpDeployment(name, config, models, deps.lifecycle.ctx, signal, { environment: batchEnvironment, logFolder });
      const instances = deployment.variants[0]!.instances;
      say('containers ready');
      const settings = await resolveSettings(job, instances[0]!);
      const source = record(record(record(job.TransformInput).DataSource).S3DataSource);
      const objects = await listInputObjects(deps.s3, String(source.S3DataType ?? 'S3Prefix'), String(source.S3Uri), signal);
      say(`${objects.length} input object(s); ${settings.strategy}, ${settings.maxConcurrent} in flight per instance, ${instances.length} instance(s)`);
      const slots = new Slots(settings.maxConcurrent * instances.length);
      let nextInstance = 0;
      const pick = () => instances[nextInstance++ % instances.length]!;
      const failures: string[] = [];
      // Objects are worked on a few at a time so a job of many small files keeps every slot busy.
      const queue = [...objects];
      const workers = Array.from({ length: Math.min(objects.length, Math.max(2, instances.length * 2)) }, async () => {
        for (let object = queue.shift(); object; object = queue.shift()) {
          if (signal.aborted) return;
          try {
            await transformObject(object, settings, job, deps.s3, slots, pick, signal, say);
          } catch (error) {
            if (error instanceof StoppedError || signal.aborted) return;
            const reason = error instanceof ObjectFailedError || error instanceof TransformInputError ? error.message : `ClientError: ${(error as Error).message}`;
            say(`failed s3://${object.bucket}/${object.key}: ${reason}`);
            failures.push(`s3://${object.bucket}/${object.key}: ${reason}`);
          }
        }
      });
      await Promise.all(workers);
      if (signal.aborted) throw new StoppedError('stopped');
      if (failures.length > 0) {
        const more = failures.length > 1 ? ` (and ${failures.length - 1} more failed object(s); see ${join(deps.logsDir, logFolder, 'transform.log')})` : '';
        throw new ObjectFailedError(`${failures.length} of ${objects.length} input object(s) failed. ${failures[0]}${more}`);
      }
      say('completed');
      update({ TransformJobStatus: 'Completed', TransformEndTime: nowSeconds(), LastModifiedTime: nowSeconds() });
    } catch (error) {
      if (signal.aborted || error instanceof StoppedError) {
        say('stopped');
        update({ TransformJobStatus: 'Stopped', TransformEndTime: nowSeconds(), LastModifiedTime: nowSeconds() });
        return;
      }
      const reason =
        error instanceof DeploymentFailedError
          ? `ClientError: The model's containers could not be started: ${error.reason}`
          : error instanceof ObjectFailedError || error instanceof TransformInputError
            ? error.message
            : `InternalServerError: ${(error as Error).message}`;
      say(`failed: ${reason}`);
      update({ TransformJobStatus: 'Failed', FailureReason: reason.slice(0, 1024), TransformEndTime: nowSeconds(), LastModifiedTime: nowSeconds() });
    } finally {
      if (deployment) await stopDeployment(deployment);
      await new Promise<void>((resolve) => log.end(resolve));
    }
  };
}

async function transformObject(
  object: InputObject,
  settings: Settings,
  job: ResourceRecord,
  s3: S3Client,
  slots: Slots,
  pick: () => RunningInstance,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<void> {
  const where = `s3://${object.bucket}/${object.key}`;
  const data = await readObject(s3, where, settings.compression, signal);
  const label = (first: number, count: number) => `${where} (records ${first}-${first + count - 1})`;
  // Batches of whole lines that go to the container untouched are cut straight from the object's bytes.
  const direct = settings.split === 'Line' && !settings.inputFilter && !settings.perRecord;
  let originals: Buffer[] = [];
  let batches: Batch[] = [];
  let requests: Array<{ body: () => Buffer; first: number; count: number }>;
  if (direct) {
    try {
      requests = lineBatches(data, settings.maxPayloadBytes, settings.strategy === 'SingleRecord').map((b) => ({ body: () => b.body, first: b.first, count: b.count }));
    } catch (error) {
      if (error instanceof LineTooLargeError) throw recordTooLarge(error.line, error.bytes, where, settings);
      throw error;
    }
  } else {
    try {
      originals = splitRecords(data, settings.split);
    } catch (error) {
      if (error instanceof RecordFormatError) throw new ObjectFailedError(`ClientError: ${where} is not valid ${settings.split} data: ${error.message}`);
      throw error;
    }
    let sent = originals;
    try {
      if (settings.inputFilter) sent = originals.map((r) => filterInput(r, settings.output.inputFormat!, settings.inputFilter!));
    } catch (error) {
      if (error instanceof RecordProcessingError) throw new ObjectFailedError(`ClientError: InputFilter on ${where}: ${error.message}`);
      throw error;
    }
    batches = batchesOf(sent, settings, where);
    requests = batches.map((batch) => ({ body: () => joinRecords(batch.records, settings.split), first: batch.first, count: batch.records.length }));
  }
  const answers = await Promise.all(
    requests.map(async (request) => {
      await slots.acquire();
      try {
        if (signal.aborted) throw new StoppedError('stopped');
        return await invokeBatch(pick(), request.body(), settings, label(request.first, request.count));
      } finally {
        slots.release();
      }
    }),
  );
  const parts: Buffer[] = [];
  const newline = Buffer.from('\n');
  if (settings.perRecord) {
    batches.forEach((batch, b) => {
      const predictions = predictionsOf(answers[b]!, batch.records.length, label(batch.first, batch.records.length));
      predictions.forEach((prediction, i) => {
        try {
          parts.push(processOutput(originals[batch.first - 1 + i]!, prediction, settings.output));
        } catch (error) {
          if (error instanceof RecordProcessingError) throw new ObjectFailedError(`ClientError: record ${batch.first + i} of ${where}: ${error.message}`);
          throw error;
        }
        if (settings.assembleWithLine) parts.push(newline);
      });
    });
  } else {
    for (const answer of answers) {
      parts.push(answer);
      if (settings.assembleWithLine && answer.length > 0 && answer[answer.length - 1] !== 10) parts.push(newline);
    }
  }
  const recordCount = requests.reduce((sum, r) => sum + r.count, 0);
  const target = outputLocation(String(record(job.TransformOutput).S3OutputPath), object.relative);
  const body = Buffer.concat(parts);
  await s3.send(
    new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: body, ContentLength: body.length, ...(settings.accept ? { ContentType: settings.accept } : {}) }),
    { abortSignal: signal },
  );
  say(`wrote s3://${target.bucket}/${target.key} (${recordCount} record(s), ${requests.length} request(s))`);
}

/** Sends one batch through the instance's containers (a serial pipeline passes each answer on), with retries. */
async function invokeBatch(instance: RunningInstance, body: Buffer, settings: Settings, where: string): Promise<Buffer> {
  let last = '';
  for (let attempt = 0; attempt <= settings.maxRetries; attempt++) {
    let payload = body;
    let contentType = settings.contentType ?? 'application/octet-stream';
    try {
      for (const [i, container] of instance.containers.entries()) {
        const headers: Record<string, string> = { 'content-type': contentType };
        if (i === instance.containers.length - 1 && settings.accept) headers.accept = settings.accept;
        const answer = await container.process.request('POST', '/invocations', headers, payload, settings.timeoutMs);
        if (answer.status < 200 || answer.status > 299) {
          throw new Error(`container ${container.hostname} answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
        }
        payload = answer.body;
        const returned = answer.headers['content-type'];
        if (typeof returned === 'string' && returned !== '') contentType = returned;
      }
      return payload;
    } catch (error) {
      last = error instanceof ContainerTimeoutError ? `no answer within InvocationsTimeoutInSeconds (${settings.timeoutMs / 1000} s)` : (error as Error).message;
    }
  }
  throw new ObjectFailedError(`ClientError: The model failed on ${where} after ${settings.maxRetries + 1} attempt(s): ${last}`);
}
