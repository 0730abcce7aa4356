import { z } from 'zod';
import { environmentSchema, instanceTypeSchema, kmsKeySchema, s3UriSchema, sageMakerNameSchema, tagsSchema } from './common-schemas';

/** Longest a transform job may run before the `.sync` task gives up (the task's `TimeoutSeconds`). */
export const TRANSFORM_TASK_TIMEOUT_SECONDS = 86_400;

const jsonPathFilter = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(/^\$/, 'must be a JSONPath expression starting with $');

/**
 * Input of `batch-transform`: every option of the SageMaker SDK's `PipelineModel.transformer()` and of
 * `Transformer.transform()`, with the SDK's argument names in camel case. With `scheduledTime` (a
 * schedule passes its `<aws.scheduler.scheduled-time>`), the output goes under a path dated by it.
 */
export const batchTransformInputSchema = z
  .strictObject({
    modelName: sageMakerNameSchema.describe('The model to run: an existing SageMaker model'),
    jobName: sageMakerNameSchema
      .optional()
      .describe('Base of the job name; a hash of the execution is appended. Defaults to the model name'),
    data: s3UriSchema.describe('The input: an S3 prefix, or a manifest file with dataType ManifestFile'),
    dataType: z.enum(['S3Prefix', 'ManifestFile'], 'must be S3Prefix or ManifestFile').default('S3Prefix'),
    contentType: z.string().min(1).max(256).optional(),
    compressionType: z.enum(['None', 'Gzip'], 'must be None or Gzip').optional(),
    splitType: z.enum(['None', 'Line', 'RecordIO', 'TFRecord'], 'must be None, Line, RecordIO or TFRecord').optional(),
    inputFilter: jsonPathFilter.optional(),
    outputFilter: jsonPathFilter.optional(),
    joinSource: z.enum(['Input', 'None'], 'must be Input or None').optional(),
    outputPath: s3UriSchema,
    outputKmsKey: kmsKeySchema.optional(),
    accept: z.string().min(1).max(256).optional(),
    assembleWith: z.enum(['None', 'Line'], 'must be None or Line').optional(),
    strategy: z.enum(['MultiRecord', 'SingleRecord'], 'must be MultiRecord or SingleRecord').optional(),
    environment: environmentSchema.optional(),
    maxConcurrentTransforms: z.int('must be a whole number').min(0, 'must be at least 0').optional(),
    maxPayload: z.int('must be a whole number').min(0, 'must be at least 0').max(100, 'must be at most 100 (MB)').optional(),
    modelClientConfig: z
      .strictObject({
        invocationsTimeoutInSeconds: z.int().min(1, 'must be at least 1').max(3600, 'must be at most 3600').optional(),
        invocationsMaxRetries: z.int().min(0, 'must be at least 0').max(3, 'must be at most 3').optional(),
      })
      .optional(),
    instanceCount: z.int('must be a whole number').min(1, 'must be at least 1').default(1),
    instanceType: instanceTypeSchema,
    volumeKmsKey: kmsKeySchema.optional(),
    tags: tagsSchema.optional(),
    scheduledTime: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2024-05-01T09:30:00Z' })
      .optional(),
  })
  .describe('Input of the batch-transform state machine');

export type BatchTransformInput = z.output<typeof batchTransformInputSchema>;
