import { z } from 'zod';
import {
  containerHostnameSchema,
  deploymentFields,
  environmentSchema,
  imageSchema,
  s3UriSchema,
  sageMakerNameSchema,
} from './common-schemas';

export const pipelineContainerSchema = z.strictObject({
  image: imageSchema,
  modelDataUrl: s3UriSchema.optional(),
  environment: environmentSchema.optional(),
  containerHostname: containerHostnameSchema.optional(),
});

/** A model package by name, or by ARN (`arn:aws:sagemaker:<region>:<account>:model-package/<name>[/<version>]`). */
export const modelPackageRefSchema = z
  .string()
  .regex(
    /^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/)?[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}(\/\d{1,10})?$/,
    'must be a model package name or ARN (arn:aws:sagemaker:<region>:<account>:model-package/<name>[/<version>])',
  );

/**
 * Input of `deploy-pipeline-model`: an inference pipeline of 2 to 15 containers (or the containers of an
 * approved model package) deployed to a new endpoint, or to an existing one as an update.
 */
export const deployPipelineModelInputSchema = z
  .strictObject({
    ...deploymentFields,
    modelName: sageMakerNameSchema
      .optional()
      .describe('Base of the model name; a hash of the execution is appended. Defaults to the endpoint name'),
    containers: z
      .array(pipelineContainerSchema)
      .min(2, 'must list at least 2 containers (an inference pipeline)')
      .max(15, 'must list at most 15 containers')
      .optional(),
    modelPackageName: modelPackageRefSchema.optional(),
    inferenceExecutionMode: z.enum(['Serial', 'Direct'], 'must be Serial or Direct').default('Serial'),
    updateEndpoint: z
      .boolean('must be true or false')
      .optional()
      .describe('true: the endpoint must exist and is updated; false: it must not exist; absent: either'),
  })
  .superRefine((input, ctx) => {
    if ((input.containers === undefined) === (input.modelPackageName === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: input.containers === undefined ? ['containers'] : ['modelPackageName'],
        message: 'give either containers or modelPackageName, not both and not neither',
      });
    }
    const containers = input.containers ?? [];
    const hostnames = containers.map((c) => c.containerHostname).filter((h): h is string => h !== undefined);
    if (new Set(hostnames).size !== hostnames.length) {
      ctx.addIssue({ code: 'custom', path: ['containers'], message: 'containerHostname values must be unique' });
    }
    if (input.inferenceExecutionMode === 'Direct') {
      containers.forEach((container, index) => {
        if (container.containerHostname === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['containers', index, 'containerHostname'],
            message: 'is required when inferenceExecutionMode is Direct (requests name their target container)',
          });
        }
      });
    }
  })
  .describe('Input of the deploy-pipeline-model state machine');

export type DeployPipelineModelInput = z.output<typeof deployPipelineModelInputSchema>;
