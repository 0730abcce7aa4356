import { z } from 'zod';
import { containerHostnameSchema, environmentSchema, imageSchema, instanceTypeSchema, s3UriSchema, sageMakerNameSchema, tagsSchema } from './common-schemas';

const metricsSourceSchema = z.strictObject({
  contentType: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  s3Uri: s3UriSchema,
  contentDigest: z.string().max(72).regex(/^[Ss][Hh][Aa]256:[0-9a-fA-F]{64}$/, 'must be sha256:<64 hex digits>').optional(),
});

const fileSourceSchema = z.strictObject({
  s3Uri: s3UriSchema,
  contentType: z.string().min(1).max(256).optional(),
  contentDigest: z.string().regex(/^[Ss][Hh][Aa]256:[0-9a-fA-F]{64}$/, 'must be sha256:<64 hex digits>').optional(),
});

const statisticsAndConstraints = z.strictObject({
  statistics: metricsSourceSchema.optional(),
  constraints: metricsSourceSchema.optional(),
});

const frameworkFields = {
  framework: z.string().min(1).max(256).regex(/^[a-zA-Z0-9 _.-]+$/, 'must be letters, digits, spaces, _ . -').optional(),
  frameworkVersion: z.string().min(3).max(10).regex(/^[0-9]\.[A-Za-z0-9.]+$/, 'must look like 1.13 or 2.0.1').optional(),
  nearestModelName: z.string().min(1).max(256).optional(),
  dataInputConfiguration: z.string().min(1).max(1024).optional(),
};

export const packageContainerSchema = z.strictObject({
  image: imageSchema,
  modelDataUrl: s3UriSchema.optional(),
  environment: environmentSchema.optional(),
  containerHostname: containerHostnameSchema.optional(),
  ...frameworkFields,
});

const mimeTypeSchema = z.string().min(1, 'must not be empty').max(256).regex(/^[-\w]+\/[-+.\w]+$/, 'must be a MIME type such as text/csv');

/**
 * Input of `register-model-package`: every field of the SageMaker SDK's `PipelineModel.register()`.
 * A package group is created when missing; `modelPackageName` instead makes an unversioned package.
 */
export const registerModelPackageInputSchema = z
  .strictObject({
    modelPackageGroupName: sageMakerNameSchema.optional(),
    modelPackageGroupDescription: z.string().max(1024).optional(),
    modelPackageName: sageMakerNameSchema.optional(),
    containers: z
      .array(packageContainerSchema)
      .min(1, 'must list at least one container')
      .max(15, 'must list at most 15 containers'),
    contentTypes: z.array(mimeTypeSchema).min(1, 'must list at least one content type'),
    responseTypes: z.array(mimeTypeSchema).min(1, 'must list at least one response type'),
    inferenceInstances: z.array(instanceTypeSchema).min(1).optional(),
    transformInstances: z.array(instanceTypeSchema).min(1).optional(),
    approvalStatus: z
      .enum(['Approved', 'Rejected', 'PendingManualApproval'], 'must be Approved, Rejected or PendingManualApproval')
      .default('PendingManualApproval'),
    description: z.string().max(1024, 'must be at most 1024 characters').optional(),
    modelMetrics: z
      .strictObject({
        modelQuality: statisticsAndConstraints.optional(),
        modelDataQuality: statisticsAndConstraints.optional(),
        bias: z
          .strictObject({
            report: metricsSourceSchema.optional(),
            preTrainingReport: metricsSourceSchema.optional(),
            postTrainingReport: metricsSourceSchema.optional(),
          })
          .optional(),
        explainability: z.strictObject({ report: metricsSourceSchema.optional() }).optional(),
      })
      .optional(),
    driftCheckBaselines: z
      .strictObject({
        bias: z
          .strictObject({
            configFile: fileSourceSchema.optional(),
            preTrainingConstraints: metricsSourceSchema.optional(),
            postTrainingConstraints: metricsSourceSchema.optional(),
          })
          .optional(),
        explainability: z
          .strictObject({ constraints: metricsSourceSchema.optional(), configFile: fileSourceSchema.optional() })
          .optional(),
        modelQuality: statisticsAndConstraints.optional(),
        modelDataQuality: statisticsAndConstraints.optional(),
      })
      .optional(),
    metadataProperties: z
      .strictObject({
        commitId: z.string().max(1024).optional(),
        repository: z.string().max(1024).optional(),
        generatedBy: z.string().max(1024).optional(),
        projectId: z.string().max(1024).optional(),
      })
      .optional(),
    customerMetadataProperties: z
      .record(z.string().min(1).max(128).regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, 'keys may hold letters, digits, spaces and _ . : / = + - @'), z.string().max(256))
      .refine((m) => Object.keys(m).length <= 50, 'must hold at most 50 entries')
      .optional(),
    marketplaceCert: z.boolean('must be true or false').optional(),
    domain: z
      .enum(['COMPUTER_VISION', 'NATURAL_LANGUAGE_PROCESSING', 'MACHINE_LEARNING'], 'must be COMPUTER_VISION, NATURAL_LANGUAGE_PROCESSING or MACHINE_LEARNING')
      .optional(),
    task: z
      .enum(
        ['FILL_MASK', 'IMAGE_CLASSIFICATION', 'OBJECT_DETECTION', 'TEXT_GENERATION', 'IMAGE_SEGMENTATION', 'CLASSIFICATION', 'REGRESSION', 'OTHER'],
        'must be one of FILL_MASK, IMAGE_CLASSIFICATION, OBJECT_DETECTION, TEXT_GENERATION, IMAGE_SEGMENTATION, CLASSIFICATION, REGRESSION, OTHER',
      )
      .optional(),
    samplePayloadUrl: s3UriSchema.optional(),
    skipModelValidation: z.enum(['All', 'None'], 'must be All or None').optional(),
    ...frameworkFields,
    tags: tagsSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if ((input.modelPackageGroupName === undefined) === (input.modelPackageName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: input.modelPackageGroupName === undefined ? ['modelPackageGroupName'] : ['modelPackageName'],
        message: 'give either modelPackageGroupName (a versioned package) or modelPackageName (unversioned), not both and not neither',
      });
    }
    if (input.modelPackageGroupDescription !== undefined && input.modelPackageGroupName === undefined) {
      ctx.addIssue({ code: 'custom', path: ['modelPackageGroupDescription'], message: 'only applies with modelPackageGroupName' });
    }
  })
  .describe('Input of the register-model-package state machine');

export type RegisterModelPackageInput = z.output<typeof registerModelPackageInputSchema>;
