/**
 * CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob. Jobs are validated and
 * recorded here; running them is the transform runner's work (`transform/transform-runner.ts` by default,
 * replaceable through the emulator options). Stop moves a running job to `Stopping`; the runner ends it `Stopped`.
 */
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { JsonPathError, parseJsonPath } from '../transform/json-path';
import { sageMakerArn } from './arns';
import type { ApiContext } from './context';
import { ResourceInUseError, ResourceNotFoundError, ValidationExceptionError } from './errors';
import { listSummaries } from './listing';
import {
  checkS3Url,
  constraintError,
  optionalEnum,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringMap,
  optionalTags,
  requiredName,
  requiredString,
  type Input,
} from './validate';

export function createTransformJob(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'TransformJobName');
  const modelName = requiredName(input, 'ModelName');
  const transformInput = optionalObject(input, 'TransformInput', 'TransformInput');
  if (!transformInput) throw constraintError('TransformInput', null, 'Member must not be null');
  const dataSource = optionalObject(transformInput, 'DataSource', 'TransformInput.DataSource');
  const s3 = dataSource ? optionalObject(dataSource, 'S3DataSource', 'TransformInput.DataSource.S3DataSource') : undefined;
  if (!s3) throw constraintError('TransformInput.DataSource.S3DataSource', null, 'Member must not be null');
  optionalEnum(s3, 'S3DataType', 'TransformInput.DataSource.S3DataSource.S3DataType', ['ManifestFile', 'S3Prefix', 'AugmentedManifestFile'] as const);
  checkS3Url(requiredString(s3, 'S3Uri', 'TransformInput.DataSource.S3DataSource.S3Uri'), 'TransformInput.DataSource.S3DataSource.S3Uri');
  optionalEnum(transformInput, 'CompressionType', 'TransformInput.CompressionType', ['None', 'Gzip'] as const);
  optionalEnum(transformInput, 'SplitType', 'TransformInput.SplitType', ['None', 'Line', 'RecordIO', 'TFRecord'] as const);
  optionalString(transformInput, 'ContentType', 'TransformInput.ContentType', 256);
  const output = optionalObject(input, 'TransformOutput', 'TransformOutput');
  if (!output) throw constraintError('TransformOutput', null, 'Member must not be null');
  checkS3Url(requiredString(output, 'S3OutputPath', 'TransformOutput.S3OutputPath'), 'TransformOutput.S3OutputPath');
  optionalEnum(output, 'AssembleWith', 'TransformOutput.AssembleWith', ['None', 'Line'] as const);
  optionalString(output, 'Accept', 'TransformOutput.Accept', 256);
  const processing = optionalObject(input, 'DataProcessing', 'DataProcessing');
  if (processing) {
    optionalEnum(processing, 'JoinSource', 'DataProcessing.JoinSource', ['Input', 'None'] as const);
    for (const key of ['InputFilter', 'OutputFilter']) {
      const expression = optionalString(processing, key, `DataProcessing.${key}`, 63);
      if (expression === undefined || expression === '') continue;
      try {
        parseJsonPath(expression);
      } catch (error) {
        if (error instanceof JsonPathError) throw new ValidationExceptionError(`DataProcessing.${key}: ${error.message}`);
        throw error;
      }
    }
  }
  const clientConfig = optionalObject(input, 'ModelClientConfig', 'ModelClientConfig');
  if (clientConfig) {
    optionalInteger(clientConfig, 'InvocationsTimeoutInSeconds', 'ModelClientConfig.InvocationsTimeoutInSeconds', 1, 3600);
    optionalInteger(clientConfig, 'InvocationsMaxRetries', 'ModelClientConfig.InvocationsMaxRetries', 0, 3);
  }
  const resources = optionalObject(input, 'TransformResources', 'TransformResources');
  if (!resources) throw constraintError('TransformResources', null, 'Member must not be null');
  requiredString(resources, 'InstanceType', 'TransformResources.InstanceType', 64);
  optionalInteger(resources, 'InstanceCount', 'TransformResources.InstanceCount', 1, 100);
  const concurrent = optionalInteger(input, 'MaxConcurrentTransforms', 'MaxConcurrentTransforms', 0, 1000);
  const payload = optionalInteger(input, 'MaxPayloadInMB', 'MaxPayloadInMB', 0, 100);
  if (concurrent !== undefined && payload !== undefined && concurrent * payload > 100) {
    throw new ValidationExceptionError(`MaxConcurrentTransforms (${concurrent}) times MaxPayloadInMB (${payload}) must not exceed 100 MB.`);
  }
  optionalEnum(input, 'BatchStrategy', 'BatchStrategy', ['MultiRecord', 'SingleRecord'] as const);
  optionalStringMap(input, 'Environment', 'Environment');
  const tags = optionalTags(input);
  const arn = sageMakerArn(ctx.arn, 'transform-job', name);
  if (ctx.store.get('transformJobs', name)) throw new ResourceInUseError(`Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`);
  if (!ctx.store.get('models', modelName)) throw new ResourceNotFoundError(`Could not find model "${sageMakerArn(ctx.arn, 'model', modelName)}".`);
  const { Tags: _t, ...fields } = input;
  const record: ResourceRecord = {
    ...fields,
    TransformJobArn: arn,
    TransformJobStatus: 'InProgress',
    CreationTime: nowSeconds(),
    TransformStartTime: nowSeconds(),
    Tags: tags ?? [],
  };
  ctx.store.put('transformJobs', name, record);
  const { runner, running } = ctx.transforms;
  if (runner) {
    const controller = new AbortController();
    const done = runner(structuredClone(record), controller.signal, (update) => ctx.store.update('transformJobs', name, update))
      .catch((error: unknown) => {
        ctx.store.update('transformJobs', name, { TransformJobStatus: 'Failed', FailureReason: (error as Error).message, TransformEndTime: nowSeconds() });
      })
      .finally(() => running.delete(arn));
    running.set(arn, { controller, done });
  }
  return { TransformJobArn: arn };
}

function findJob(input: Input, ctx: ApiContext): ResourceRecord {
  const name = requiredName(input, 'TransformJobName');
  const job = ctx.store.get('transformJobs', name);
  if (!job) throw new ResourceNotFoundError(`Could not find requested job with name ${name}`);
  return job;
}

export function describeTransformJob(input: Input, ctx: ApiContext): unknown {
  const { Tags: _t, ...job } = findJob(input, ctx);
  return job;
}

export function stopTransformJob(input: Input, ctx: ApiContext): unknown {
  const job = findJob(input, ctx);
  const name = String(job.TransformJobName);
  if (job.TransformJobStatus !== 'InProgress') return {};
  ctx.store.update('transformJobs', name, { TransformJobStatus: 'Stopping' });
  const run = ctx.transforms.running.get(String(job.TransformJobArn));
  if (run) run.controller.abort();
  else ctx.store.update('transformJobs', name, { TransformJobStatus: 'Stopped', TransformEndTime: nowSeconds() });
  return {};
}

export function listTransformJobs(input: Input, ctx: ApiContext): unknown {
  return listSummaries(ctx.store.list('transformJobs'), input, {
    member: 'TransformJobSummaries',
    nameField: 'TransformJobName',
    statusField: 'TransformJobStatus',
    fields: ['TransformJobName', 'TransformJobArn', 'CreationTime', 'TransformEndTime', 'LastModifiedTime', 'TransformJobStatus', 'FailureReason'],
  });
}
