/**
 * Zod pieces shared by the workflow input schemas. Each rule carries a message that says what the
 * value must be, so an error names the field (from the path) and the rule (from here).
 */
import { z } from 'zod';
import { SAGEMAKER_NAME_PATTERN } from '../pipeline/names';

/** A SageMaker model, endpoint config, endpoint or job name. */
export const sageMakerNameSchema = z
  .string()
  .regex(
    SAGEMAKER_NAME_PATTERN,
    'must be 1 to 63 letters, digits or hyphens, starting and ending with a letter or digit (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$)',
  );

/** `s3://<bucket>/<key>`: bucket names are lower case, 3 to 63 characters. */
export const s3UriSchema = z
  .string()
  .max(1024, 'must be at most 1024 characters')
  .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$/, 'must be an S3 URI such as s3://bucket/key');

/** A container image URI as SageMaker takes it: no whitespace, at most 255 characters. */
export const imageSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^\S+$/, 'must not contain whitespace');

/** A SageMaker hosting or transform instance type, such as ml.m5.large. */
export const instanceTypeSchema = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.m5.large');

export const environmentSchema = z
  .record(
    z
      .string()
      .max(1024, 'variable names must be at most 1024 characters')
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'variable names must be letters, digits and underscores, not starting with a digit'),
    z.string().max(1024, 'values must be at most 1024 characters'),
  )
  .refine((env) => Object.keys(env).length <= 100, 'must hold at most 100 variables');

export const tagsSchema = z
  .record(
    z
      .string()
      .min(1, 'tag keys must not be empty')
      .max(128, 'tag keys must be at most 128 characters')
      .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, 'tag keys may hold letters, digits, spaces and _ . : / = + - @')
      .refine((key) => !key.toLowerCase().startsWith('aws:'), 'tag keys must not start with aws: (reserved)'),
    z
      .string()
      .max(256, 'tag values must be at most 256 characters')
      .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, 'tag values may hold letters, digits, spaces and _ . : / = + - @'),
  )
  .refine((tags) => Object.keys(tags).length <= 50, 'must hold at most 50 tags')
  .describe('Tags as a map of key to value');

export const kmsKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(2048, 'must be at most 2048 characters')
  .regex(/^[a-zA-Z0-9:/_-]+$/, 'must be a KMS key id, key ARN, alias name or alias ARN');

export const roleArnSchema = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

export const vpcConfigSchema = z.strictObject({
  subnets: z
    .array(z.string().regex(/^[-0-9a-zA-Z]+$/, 'subnet ids must be letters, digits and hyphens'))
    .min(1, 'must list at least one subnet')
    .max(16, 'must list at most 16 subnets'),
  securityGroupIds: z
    .array(z.string().regex(/^[-0-9a-zA-Z]+$/, 'security group ids must be letters, digits and hyphens'))
    .min(1, 'must list at least one security group')
    .max(5, 'must list at most 5 security groups'),
});

/** The container host name of a pipeline container (the `TargetContainerHostname` of a direct call). */
export const containerHostnameSchema = z
  .string()
  .regex(SAGEMAKER_NAME_PATTERN, 'must be 1 to 63 letters, digits or hyphens, starting and ending with a letter or digit');

/** Settings of the production variant, as the SageMaker SDK's `deploy()` takes them. */
export const variantFields = {
  instanceType: instanceTypeSchema,
  initialInstanceCount: z.int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(1),
  volumeSizeInGB: z.int('must be a whole number').min(1, 'must be at least 1').max(512, 'must be at most 512').optional(),
  modelDataDownloadTimeoutInSeconds: z
    .int('must be a whole number')
    .min(60, 'must be at least 60')
    .max(3600, 'must be at most 3600')
    .optional(),
  containerStartupHealthCheckTimeoutInSeconds: z
    .int('must be a whole number')
    .min(60, 'must be at least 60')
    .max(3600, 'must be at most 3600')
    .optional(),
};

export const dataCaptureSchema = z.strictObject({
  destinationS3Uri: s3UriSchema,
  initialSamplingPercentage: z.int('must be a whole number').min(0, 'must be at least 0').max(100, 'must be at most 100'),
  captureModes: z
    .array(z.enum(['Input', 'Output'], 'must be Input or Output'))
    .min(1, 'must list Input, Output or both')
    .max(2, 'must list Input, Output or both')
    .refine((modes) => new Set(modes).size === modes.length, 'must not list a mode twice')
    .default(['Input', 'Output']),
  kmsKeyId: kmsKeySchema.optional(),
  csvContentTypes: z.array(z.string().min(1).max(256)).min(1).max(10).optional(),
  jsonContentTypes: z.array(z.string().min(1).max(256)).min(1).max(10).optional(),
});

/**
 * How the deployment waits for the endpoint: polls at `initialSeconds`, each interval `growthFactor`
 * times the previous one up to `maxSeconds`, and gives up after `timeoutSeconds` of waiting in all.
 */
export const endpointWaitSchema = z
  .strictObject({
    initialSeconds: z.int('must be a whole number').min(1, 'must be at least 1').max(3600, 'must be at most 3600').default(30),
    growthFactor: z.number('must be a number').min(1, 'must be at least 1').max(4, 'must be at most 4').default(1.5),
    maxSeconds: z.int('must be a whole number').min(1, 'must be at least 1').max(3600, 'must be at most 3600').default(300),
    timeoutSeconds: z
      .int('must be a whole number')
      .min(60, 'must be at least 60')
      .max(86_400, 'must be at most 86400 (one day)')
      .default(3600),
  })
  .refine((wait) => wait.maxSeconds >= wait.initialSeconds, {
    message: 'maxSeconds must be at least initialSeconds',
    path: ['maxSeconds'],
  });

/** Fields every deployment workflow takes. */
export const deploymentFields = {
  endpointName: sageMakerNameSchema,
  executionRoleArn: roleArnSchema.optional(),
  ...variantFields,
  dataCapture: dataCaptureSchema.optional(),
  kmsKeyId: kmsKeySchema.optional(),
  vpcConfig: vpcConfigSchema.optional(),
  enableNetworkIsolation: z.boolean('must be true or false').optional(),
  tags: tagsSchema.optional(),
  wait: endpointWaitSchema.default({ initialSeconds: 30, growthFactor: 1.5, maxSeconds: 300, timeoutSeconds: 3600 }),
  keepReplaced: z.boolean('must be true or false').default(false),
};
