/** CreateEndpoint, UpdateEndpoint, DescribeEndpoint, DeleteEndpoint, ListEndpoints. */
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { sageMakerArn } from './arns';
import type { ApiContext } from './context';
import { findEndpointConfig } from './endpoint-configs';
import { ResourceLimitExceededError, ValidationExceptionError } from './errors';
import { listSummaries } from './listing';
import { optionalArray, optionalBoolean, optionalObject, optionalTags, requiredName, type Input } from './validate';

function checkModelsExist(config: ResourceRecord, ctx: ApiContext): void {
  for (const v of config.ProductionVariants as ResourceRecord[]) {
    if (!ctx.store.get('models', String(v.ModelName))) {
      throw new ValidationExceptionError(`Could not find model "${sageMakerArn(ctx.arn, 'model', String(v.ModelName))}".`);
    }
  }
}

export function createEndpoint(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'EndpointName');
  const configName = requiredName(input, 'EndpointConfigName');
  const deploymentConfig = optionalObject(input, 'DeploymentConfig', 'DeploymentConfig');
  const tags = optionalTags(input);
  const arn = sageMakerArn(ctx.arn, 'endpoint', name);
  if (ctx.store.get('endpoints', name)) throw new ValidationExceptionError(`Cannot create already existing endpoint "${arn}".`);
  const config = findEndpointConfig(configName, ctx);
  checkModelsExist(config, ctx);
  const count = ctx.store.list('endpoints').length;
  if (count >= ctx.limits.maxEndpoints) {
    throw new ResourceLimitExceededError(
      `The account-level service limit 'Number of endpoints' is ${ctx.limits.maxEndpoints} Endpoints, with current utilization of ${count} Endpoints and a request delta of 1 Endpoints. Please use AWS Service Quotas to request an increase for this quota.`,
    );
  }
  const now = nowSeconds();
  const record: ResourceRecord = {
    EndpointName: name,
    EndpointArn: arn,
    EndpointConfigName: String(config.EndpointConfigName),
    EndpointStatus: 'Creating',
    CreationTime: now,
    LastModifiedTime: now,
    Tags: tags ?? [],
  };
  if (deploymentConfig) record.LastDeploymentConfig = deploymentConfig;
  if (config.DataCaptureConfig) {
    const capture = config.DataCaptureConfig as ResourceRecord;
    record.DataCaptureConfig = {
      EnableCapture: capture.EnableCapture ?? true,
      CaptureStatus: capture.EnableCapture === false ? 'Stopped' : 'Started',
      CurrentSamplingPercentage: capture.InitialSamplingPercentage,
      DestinationS3Uri: capture.DestinationS3Uri,
      ...(capture.KmsKeyId ? { KmsKeyId: capture.KmsKeyId } : {}),
    };
  }
  ctx.store.put('endpoints', name, record);
  ctx.lifecycle.create(name, structuredClone(config));
  return { EndpointArn: arn };
}

export function findEndpoint(name: string, ctx: ApiContext): ResourceRecord {
  const endpoint = ctx.store.get('endpoints', name);
  if (!endpoint) throw new ValidationExceptionError(`Could not find endpoint "${sageMakerArn(ctx.arn, 'endpoint', name)}".`);
  return endpoint;
}

export function updateEndpoint(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'EndpointName');
  const configName = requiredName(input, 'EndpointConfigName');
  // RetainAllVariantProperties keeps weights and counts changed since the last deployment; the emulator
  // has no UpdateEndpointWeightsAndCapacities, so the new configuration's values apply either way.
  optionalBoolean(input, 'RetainAllVariantProperties');
  optionalArray(input, 'ExcludeRetainedVariantProperties', 'ExcludeRetainedVariantProperties', 0, 3);
  const deploymentConfig = optionalObject(input, 'DeploymentConfig', 'DeploymentConfig');
  optionalBoolean(input, 'RetainDeploymentConfig');
  const endpoint = findEndpoint(name, ctx);
  const arn = String(endpoint.EndpointArn);
  const status = endpoint.EndpointStatus;
  if (status === 'Failed') throw new ValidationExceptionError(`Cannot update failed endpoint "${arn}".`);
  if (status !== 'InService') throw new ValidationExceptionError(`Cannot update in-progress endpoint "${arn}".`);
  const config = findEndpointConfig(configName, ctx);
  checkModelsExist(config, ctx);
  ctx.store.update('endpoints', name, {
    EndpointStatus: 'Updating',
    FailureReason: undefined,
    LastModifiedTime: nowSeconds(),
    ...(deploymentConfig ? { LastDeploymentConfig: deploymentConfig } : {}),
    PendingDeploymentSummary: {
      EndpointConfigName: String(config.EndpointConfigName),
      StartTime: nowSeconds(),
      ProductionVariants: (config.ProductionVariants as ResourceRecord[]).map((v) => ({
        VariantName: v.VariantName,
        DesiredWeight: v.InitialVariantWeight,
        DesiredInstanceCount: v.InitialInstanceCount,
        InstanceType: v.InstanceType,
        VariantStatus: [{ Status: 'Creating', StartTime: nowSeconds() }],
      })),
    },
  });
  ctx.lifecycle.update(name, structuredClone(config));
  return { EndpointArn: arn };
}

export function describeEndpoint(input: Input, ctx: ApiContext): unknown {
  const { Tags: _tags, ...endpoint } = findEndpoint(requiredName(input, 'EndpointName'), ctx);
  return endpoint;
}

export function deleteEndpoint(input: Input, ctx: ApiContext): unknown {
  const endpoint = findEndpoint(requiredName(input, 'EndpointName'), ctx);
  const name = String(endpoint.EndpointName);
  if (endpoint.EndpointStatus === 'Deleting') return {};
  ctx.store.update('endpoints', name, { EndpointStatus: 'Deleting', LastModifiedTime: nowSeconds() });
  ctx.lifecycle.delete(name, () => ctx.store.delete('endpoints', name));
  return {};
}

export function listEndpoints(input: Input, ctx: ApiContext): unknown {
  return listSummaries(ctx.store.list('endpoints'), input, {
    member: 'Endpoints',
    nameField: 'EndpointName',
    statusField: 'EndpointStatus',
    fields: ['EndpointName', 'EndpointArn', 'CreationTime', 'LastModifiedTime', 'EndpointStatus'],
  });
}
