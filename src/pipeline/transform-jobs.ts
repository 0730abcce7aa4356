/**
 * `CreateTransformJob` requests with every option of the SageMaker Python SDK's
 * `PipelineModel.transformer()` (strategy, assemble with, output path and KMS key, accept, environment,
 * max concurrent transforms, max payload, instance count and type, volume KMS key, tags) plus the input's
 * content type, split and compression, data processing filters and the model client settings.
 */
import type {
  BatchStrategy,
  CreateTransformJobRequest,
  DataProcessing,
  ModelClientConfig,
  TransformInput,
  TransformOutput,
  TransformResources,
  TransformInstanceType,
} from '@aws-sdk/client-sagemaker';
import { scheduledTimeSegment } from './names';
import { omitUndefined } from './omit-undefined';
import { buildTags, type TagMap } from './tags';

export interface TransformSpec {
  transformJobName: string;
  modelName: string;
  input: {
    s3Uri: string;
    s3DataType: 'S3Prefix' | 'ManifestFile';
    contentType?: string;
    splitType?: 'None' | 'Line' | 'RecordIO' | 'TFRecord';
    compressionType?: 'None' | 'Gzip';
  };
  output: {
    s3OutputPath: string;
    accept?: string;
    assembleWith?: 'None' | 'Line';
    kmsKeyId?: string;
  };
  instanceType: string;
  instanceCount: number;
  volumeKmsKeyId?: string;
  strategy?: 'MultiRecord' | 'SingleRecord';
  environment?: Record<string, string>;
  maxConcurrentTransforms?: number;
  maxPayloadInMB?: number;
  dataProcessing?: { inputFilter?: string; outputFilter?: string; joinSource?: 'Input' | 'None' };
  modelClient?: { invocationsTimeoutInSeconds?: number; invocationsMaxRetries?: number };
  tags?: TagMap;
}

/** Raised for an S3 URI that is not `s3://<bucket>/<key>`. */
export class InvalidS3UriError extends Error {
  constructor(uri: string) {
    super(`"${uri}" is not an S3 URI of the form s3://<bucket>/<key>`);
    this.name = 'InvalidS3UriError';
  }
}

/** Splits `s3://bucket/some/prefix` into bucket and key (the key may be empty). */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new InvalidS3UriError(uri);
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * The output path of a run started for `scheduledTime`: `<base>/<2024-05-01T09-30-00Z>/`, so each
 * scheduled run writes beside, never over, the previous one, and runs list in time order.
 */
export function datedOutputPath(base: string, scheduledTime: Date): string {
  return `${base.replace(/\/+$/, '')}/${scheduledTimeSegment(scheduledTime)}/`;
}


export function buildTransformJobRequest(spec: TransformSpec): CreateTransformJobRequest {
  const dataProcessing = spec.dataProcessing
    ? omitUndefined<DataProcessing>({
        InputFilter: spec.dataProcessing.inputFilter,
        OutputFilter: spec.dataProcessing.outputFilter,
        JoinSource: spec.dataProcessing.joinSource,
      })
    : undefined;
  const modelClient = spec.modelClient
    ? omitUndefined<ModelClientConfig>({
        InvocationsTimeoutInSeconds: spec.modelClient.invocationsTimeoutInSeconds,
        InvocationsMaxRetries: spec.modelClient.invocationsMaxRetries,
      })
    : undefined;
  return omitUndefined<CreateTransformJobRequest>({
    TransformJobName: spec.transformJobName,
    ModelName: spec.modelName,
    MaxConcurrentTransforms: spec.maxConcurrentTransforms,
    ModelClientConfig: modelClient && Object.keys(modelClient).length > 0 ? modelClient : undefined,
    MaxPayloadInMB: spec.maxPayloadInMB,
    BatchStrategy: spec.strategy as BatchStrategy | undefined,
    Environment:
      spec.environment !== undefined && Object.keys(spec.environment).length > 0 ? { ...spec.environment } : undefined,
    TransformInput: omitUndefined<TransformInput>({
      DataSource: { S3DataSource: { S3DataType: spec.input.s3DataType, S3Uri: spec.input.s3Uri } },
      ContentType: spec.input.contentType,
      CompressionType: spec.input.compressionType,
      SplitType: spec.input.splitType,
    }),
    TransformOutput: omitUndefined<TransformOutput>({
      S3OutputPath: spec.output.s3OutputPath,
      Accept: spec.output.accept,
      AssembleWith: spec.output.assembleWith,
      KmsKeyId: spec.output.kmsKeyId,
    }),
    TransformResources: omitUndefined<TransformResources>({
      // The SDK's enum lags behind new instance families; SageMaker itself validates the value.
      InstanceType: spec.instanceType as TransformInstanceType,
      InstanceCount: spec.instanceCount,
      VolumeKmsKeyId: spec.volumeKmsKeyId,
    }),
    DataProcessing: dataProcessing && Object.keys(dataProcessing).length > 0 ? dataProcessing : undefined,
    Tags: buildTags(spec.tags),
  });
}
