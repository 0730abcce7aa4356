/** CreateEndpointConfig, DescribeEndpointConfig, DeleteEndpointConfig, ListEndpointConfigs. */
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { sageMakerArn } from './arns';
import type { ApiContext } from './context';
import { ResourceLimitExceededError, ValidationExceptionError } from './errors';
import { listSummaries } from './listing';
import {
  asObject,
  constraintError,
  optionalArray,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalNumber,
  optionalObject,
  optionalRoleArn,
  optionalString,
  optionalTags,
  requiredName,
  type Input,
} from './validate';

const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;

function productionVariant(raw: unknown, path: string, ctx: ApiContext): ResourceRecord {
  const v = asObject(raw, path);
  const out: ResourceRecord = {
    VariantName: requiredName(v, 'VariantName', `${path}.VariantName`),
    ModelName: requiredName(v, 'ModelName', `${path}.ModelName`),
  };
  const serverless = optionalObject(v, 'ServerlessConfig', `${path}.ServerlessConfig`);
  const count = optionalInteger(v, 'InitialInstanceCount', `${path}.InitialInstanceCount`, 1, 1000);
  const type = optionalString(v, 'InstanceType', `${path}.InstanceType`, 64);
  if (serverless) {
    optionalInteger(serverless, 'MemorySizeInMB', `${path}.ServerlessConfig.MemorySizeInMB`, 1024, 6144);
    optionalInteger(serverless, 'MaxConcurrency', `${path}.ServerlessConfig.MaxConcurrency`, 1, 200);
    out.ServerlessConfig = serverless;
  } else {
    if (count === undefined) throw new ValidationExceptionError(`${path}: InitialInstanceCount is required for a variant without ServerlessConfig.`);
    if (type === undefined) throw new ValidationExceptionError(`${path}: InstanceType is required for a variant without ServerlessConfig.`);
  }
  if (type !== undefined) {
    if (!INSTANCE_TYPE.test(type)) throw constraintError(`${path}.InstanceType`, type, 'Member must satisfy enum value set: [ml.t2.medium, ml.m5.large, ml.c5.xlarge, ...]');
    out.InstanceType = type;
  }
  if (count !== undefined) {
    if (count > ctx.limits.maxInstancesPerVariant) {
      throw new ResourceLimitExceededError(
        `The account-level service limit 'ml instances per variant' is ${ctx.limits.maxInstancesPerVariant} Instances, with current utilization of 0 Instances and a request delta of ${count} Instances. Please use AWS Service Quotas to request an increase for this quota.`,
      );
    }
    out.InitialInstanceCount = count;
  }
  out.InitialVariantWeight = optionalNumber(v, 'InitialVariantWeight', `${path}.InitialVariantWeight`, 0) ?? 1;
  const accelerator = optionalString(v, 'AcceleratorType', `${path}.AcceleratorType`, 64);
  if (accelerator !== undefined) out.AcceleratorType = accelerator;
  const volume = optionalInteger(v, 'VolumeSizeInGB', `${path}.VolumeSizeInGB`, 1, 512);
  if (volume !== undefined) out.VolumeSizeInGB = volume;
  const download = optionalInteger(v, 'ModelDataDownloadTimeoutInSeconds', `${path}.ModelDataDownloadTimeoutInSeconds`, 60, 3600);
  if (download !== undefined) out.ModelDataDownloadTimeoutInSeconds = download;
  const health = optionalInteger(v, 'ContainerStartupHealthCheckTimeoutInSeconds', `${path}.ContainerStartupHealthCheckTimeoutInSeconds`, 60, 3600);
  if (health !== undefined) out.ContainerStartupHealthCheckTimeoutInSeconds = health;
  const ssm = optionalBoolean(v, 'EnableSSMAccess', `${path}.EnableSSMAccess`);
  if (ssm !== undefined) out.EnableSSMAccess = ssm;
  for (const key of ['CoreDumpConfig', 'ManagedInstanceScaling', 'RoutingConfig'] as const) {
    const value = optionalObject(v, key, `${path}.${key}`);
    if (value) out[key] = value;
  }
  const ami = optionalString(v, 'InferenceAmiVersion', `${path}.InferenceAmiVersion`, 64);
  if (ami !== undefined) out.InferenceAmiVersion = ami;
  return out;
}

function dataCaptureConfig(raw: Input): ResourceRecord {
  optionalBoolean(raw, 'EnableCapture', 'DataCaptureConfig.EnableCapture');
  const percentage = optionalInteger(raw, 'InitialSamplingPercentage', 'DataCaptureConfig.InitialSamplingPercentage', 0, 100);
  if (percentage === undefined) throw constraintError('DataCaptureConfig.InitialSamplingPercentage', null, 'Member must not be null');
  const destination = optionalString(raw, 'DestinationS3Uri', 'DataCaptureConfig.DestinationS3Uri', 512);
  if (destination === undefined) throw constraintError('DataCaptureConfig.DestinationS3Uri', null, 'Member must not be null');
  const options = optionalArray(raw, 'CaptureOptions', 'DataCaptureConfig.CaptureOptions', 1, 2);
  if (!options) throw constraintError('DataCaptureConfig.CaptureOptions', null, 'Member must not be null');
  options.forEach((o, i) => optionalEnum(asObject(o, `DataCaptureConfig.CaptureOptions.${i + 1}`), 'CaptureMode', `DataCaptureConfig.CaptureOptions.${i + 1}.member.CaptureMode`, ['Input', 'Output', 'InputAndOutput'] as const));
  return raw;
}

export function createEndpointConfig(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'EndpointConfigName');
  const variantsRaw = optionalArray(input, 'ProductionVariants', 'ProductionVariants', 1, 10);
  if (!variantsRaw) throw constraintError('ProductionVariants', null, 'Member must not be null');
  const variants = variantsRaw.map((v, i) => productionVariant(v, `ProductionVariants.${i + 1}.member`, ctx));
  const names = variants.map((v) => String(v.VariantName).toLowerCase());
  if (new Set(names).size !== names.length) throw new ValidationExceptionError('VariantName must be unique within an endpoint configuration.');
  const serverlessCount = variants.filter((v) => v.ServerlessConfig).length;
  if (serverlessCount > 0 && serverlessCount !== variants.length) {
    throw new ValidationExceptionError('Serverless and instance-based production variants cannot be mixed in one endpoint configuration.');
  }
  for (const v of variants) {
    if (!ctx.store.get('models', String(v.ModelName))) {
      throw new ValidationExceptionError(`Could not find model "${sageMakerArn(ctx.arn, 'model', String(v.ModelName))}".`);
    }
  }
  const arn = sageMakerArn(ctx.arn, 'endpoint-config', name);
  const record: ResourceRecord = { EndpointConfigName: name, EndpointConfigArn: arn, ProductionVariants: variants };
  const capture = optionalObject(input, 'DataCaptureConfig', 'DataCaptureConfig');
  if (capture) record.DataCaptureConfig = dataCaptureConfig(capture);
  const kms = optionalString(input, 'KmsKeyId', 'KmsKeyId', 2048);
  if (kms !== undefined) record.KmsKeyId = kms;
  for (const key of ['AsyncInferenceConfig', 'ExplainerConfig', 'VpcConfig'] as const) {
    const value = optionalObject(input, key, key);
    if (value) record[key] = value;
  }
  const shadow = optionalArray(input, 'ShadowProductionVariants', 'ShadowProductionVariants', 0, 10);
  if (shadow && shadow.length > 0) record.ShadowProductionVariants = shadow.map((v, i) => productionVariant(v, `ShadowProductionVariants.${i + 1}.member`, ctx));
  const role = optionalRoleArn(input, 'ExecutionRoleArn');
  if (role) record.ExecutionRoleArn = role;
  const isolation = optionalBoolean(input, 'EnableNetworkIsolation');
  if (isolation !== undefined) record.EnableNetworkIsolation = isolation;
  const tags = optionalTags(input);
  if (ctx.store.get('endpointConfigs', name)) throw new ValidationExceptionError(`Cannot create already existing endpoint configuration "${arn}".`);
  record.CreationTime = nowSeconds();
  ctx.store.put('endpointConfigs', name, { ...record, Tags: tags ?? [] });
  return { EndpointConfigArn: arn };
}

export function findEndpointConfig(name: string, ctx: ApiContext): ResourceRecord {
  const config = ctx.store.get('endpointConfigs', name);
  if (!config) throw new ValidationExceptionError(`Could not find endpoint configuration "${sageMakerArn(ctx.arn, 'endpoint-config', name)}".`);
  return config;
}

export function describeEndpointConfig(input: Input, ctx: ApiContext): unknown {
  const { Tags: _tags, ...config } = findEndpointConfig(requiredName(input, 'EndpointConfigName'), ctx);
  return config;
}

export function deleteEndpointConfig(input: Input, ctx: ApiContext): unknown {
  const config = findEndpointConfig(requiredName(input, 'EndpointConfigName'), ctx);
  ctx.store.delete('endpointConfigs', String(config.EndpointConfigName));
  return {};
}

export function listEndpointConfigs(input: Input, ctx: ApiContext): unknown {
  return listSummaries(ctx.store.list('endpointConfigs'), input, {
    member: 'EndpointConfigs',
    nameField: 'EndpointConfigName',
    fields: ['EndpointConfigName', 'EndpointConfigArn', 'CreationTime'],
  });
}
