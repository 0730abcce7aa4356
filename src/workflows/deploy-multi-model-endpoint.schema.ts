import { z } from 'zod';
import { deploymentFields, environmentSchema, imageSchema } from './common-schemas';

/**
 * Input of `deploy-multi-model-endpoint`: a multi-model endpoint serving every model registered under
 * `models/<endpointName>/` of the artifacts bucket (the model data prefix is derived, never given, so it
 * always matches where the registration function puts versions).
 */
export const deployMultiModelEndpointInputSchema = z
  .strictObject({
    ...deploymentFields,
    image: imageSchema.describe('Image of the multi-model container (it must implement the /models API)'),
    environment: environmentSchema.optional(),
  })
  .describe('Input of the deploy-multi-model-endpoint state machine');

export type DeployMultiModelEndpointInput = z.output<typeof deployMultiModelEndpointInputSchema>;
