/** CreateModel, DescribeModel, DeleteModel, ListModels. */
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { sageMakerArn } from './arns';
import type { ApiContext } from './context';
import { ValidationExceptionError } from './errors';
import { listSummaries } from './listing';
import {
  asObject,
  checkName,
  checkS3Url,
  constraintError,
  optionalArray,
  optionalBoolean,
  optionalEnum,
  optionalObject,
  optionalRoleArn,
  optionalString,
  optionalStringMap,
  optionalTags,
  requiredName,
  requiredString,
  type Input,
} from './validate';

const MAX_CONTAINERS = 15;

/** Validates one container definition and returns it as stored (unknown fields dropped). */
function containerDefinition(raw: unknown, path: string): ResourceRecord {
  const c = asObject(raw, path);
  const out: ResourceRecord = {};
  const hostname = optionalString(c, 'ContainerHostname', `${path}.ContainerHostname`, 63);
  if (hostname !== undefined) out.ContainerHostname = checkName(hostname, `${path}.ContainerHostname`);
  const packageName = optionalString(c, 'ModelPackageName', `${path}.ModelPackageName`, 176);
  const image = optionalString(c, 'Image', `${path}.Image`, 255);
  if (image === undefined && packageName === undefined) {
    throw new ValidationExceptionError(`${path}: either Image or ModelPackageName must be specified.`);
  }
  if (image !== undefined) {
    if (!/^[\S]+$/.test(image)) throw constraintError(`${path}.Image`, image, 'Member must satisfy regular expression pattern: [\\S]+');
    out.Image = image;
  }
  if (packageName !== undefined) out.ModelPackageName = packageName;
  const imageConfig = optionalObject(c, 'ImageConfig', `${path}.ImageConfig`);
  if (imageConfig) {
    optionalEnum(imageConfig, 'RepositoryAccessMode', `${path}.ImageConfig.RepositoryAccessMode`, ['Platform', 'Vpc'] as const);
    out.ImageConfig = imageConfig;
  }
  const mode = optionalEnum(c, 'Mode', `${path}.Mode`, ['SingleModel', 'MultiModel'] as const);
  out.Mode = mode ?? 'SingleModel';
  const url = optionalString(c, 'ModelDataUrl', `${path}.ModelDataUrl`, 1024);
  if (url !== undefined) out.ModelDataUrl = checkS3Url(url, `${path}.ModelDataUrl`);
  const source = optionalObject(c, 'ModelDataSource', `${path}.ModelDataSource`);
  if (source !== undefined) {
    if (url !== undefined) throw new ValidationExceptionError(`${path}: ModelDataUrl and ModelDataSource cannot both be specified.`);
    const s3 = optionalObject(source, 'S3DataSource', `${path}.ModelDataSource.S3DataSource`);
    if (!s3) throw new ValidationExceptionError(`${path}.ModelDataSource: S3DataSource must be specified.`);
    checkS3Url(requiredString(s3, 'S3Uri', `${path}.ModelDataSource.S3DataSource.S3Uri`), `${path}.ModelDataSource.S3DataSource.S3Uri`);
    const dataType = optionalEnum(s3, 'S3DataType', `${path}.ModelDataSource.S3DataSource.S3DataType`, ['S3Prefix', 'S3Object'] as const);
    const compression = optionalEnum(s3, 'CompressionType', `${path}.ModelDataSource.S3DataSource.CompressionType`, ['None', 'Gzip'] as const);
    if (!dataType) throw constraintError(`${path}.ModelDataSource.S3DataSource.S3DataType`, null, 'Member must not be null');
    if (!compression) throw constraintError(`${path}.ModelDataSource.S3DataSource.CompressionType`, null, 'Member must not be null');
    if (compression === 'Gzip' && dataType !== 'S3Object') {
      throw new ValidationExceptionError(`${path}.ModelDataSource.S3DataSource: CompressionType Gzip requires S3DataType S3Object.`);
    }
    out.ModelDataSource = source;
  }
  const environment = optionalStringMap(c, 'Environment', `${path}.Environment`);
  if (environment) out.Environment = environment;
  const mmc = optionalObject(c, 'MultiModelConfig', `${path}.MultiModelConfig`);
  if (mmc) {
    optionalEnum(mmc, 'ModelCacheSetting', `${path}.MultiModelConfig.ModelCacheSetting`, ['Enabled', 'Disabled'] as const);
    if (out.Mode !== 'MultiModel') throw new ValidationExceptionError(`${path}: MultiModelConfig is only valid with Mode MultiModel.`);
    out.MultiModelConfig = mmc;
  }
  const spec = optionalString(c, 'InferenceSpecificationName', `${path}.InferenceSpecificationName`, 63);
  if (spec !== undefined) out.InferenceSpecificationName = spec;
  if (out.Mode === 'MultiModel' && out.ModelDataUrl === undefined && out.ModelDataSource === undefined) {
    throw new ValidationExceptionError(`${path}: a container with Mode MultiModel needs ModelDataUrl, the S3 prefix of its models.`);
  }
  return out;
}

export function createModel(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'ModelName');
  const primary = input.PrimaryContainer;
  const containersRaw = optionalArray(input, 'Containers', 'Containers', 1, MAX_CONTAINERS);
  if ((primary === undefined || primary === null) === (containersRaw === undefined)) {
    throw new ValidationExceptionError('Exactly one of PrimaryContainer and Containers must be specified.');
  }
  const record: ResourceRecord = { ModelName: name };
  const arn = sageMakerArn(ctx.arn, 'model', name);
  let containers: ResourceRecord[];
  if (containersRaw) {
    containers = containersRaw.map((c, i) => containerDefinition(c, `Containers.${i + 1}.member`));
    record.Containers = containers;
  } else {
    containers = [containerDefinition(primary, 'PrimaryContainer')];
    record.PrimaryContainer = containers[0];
  }
  const iec = optionalObject(input, 'InferenceExecutionConfig', 'InferenceExecutionConfig');
  const mode = iec ? optionalEnum(iec, 'Mode', 'InferenceExecutionConfig.Mode', ['Serial', 'Direct'] as const) : undefined;
  if (iec) {
    if (!mode) throw constraintError('InferenceExecutionConfig.Mode', null, 'Member must not be null');
    record.InferenceExecutionConfig = { Mode: mode };
  }
  const hostnames = containers.map((c) => c.ContainerHostname).filter((h): h is string => typeof h === 'string');
  if (new Set(hostnames.map((h) => h.toLowerCase())).size !== hostnames.length) {
    throw new ValidationExceptionError('ContainerHostname must be unique among the containers of a model.');
  }
  if (mode === 'Direct' && hostnames.length !== containers.length) {
    throw new ValidationExceptionError('Every container must have a ContainerHostname when InferenceExecutionConfig.Mode is Direct.');
  }
  if (containers.length > 1 && containers.some((c) => c.Mode === 'MultiModel')) {
    throw new ValidationExceptionError('Mode MultiModel is not supported for a model with more than one container.');
  }
  const role = optionalRoleArn(input, 'ExecutionRoleArn');
  if (role) record.ExecutionRoleArn = role;
  const vpc = optionalObject(input, 'VpcConfig', 'VpcConfig');
  if (vpc) {
    const groups = optionalArray(vpc, 'SecurityGroupIds', 'VpcConfig.SecurityGroupIds', 1, 5);
    const subnets = optionalArray(vpc, 'Subnets', 'VpcConfig.Subnets', 1, 16);
    if (!groups || !subnets) throw new ValidationExceptionError('VpcConfig needs SecurityGroupIds (1-5) and Subnets (1-16).');
    record.VpcConfig = { SecurityGroupIds: groups, Subnets: subnets };
  }
  record.EnableNetworkIsolation = optionalBoolean(input, 'EnableNetworkIsolation') ?? false;
  const tags = optionalTags(input);
  if (ctx.store.get('models', name)) throw new ValidationExceptionError(`Cannot create already existing model "${arn}".`);
  record.ModelArn = arn;
  record.CreationTime = nowSeconds();
  ctx.store.put('models', name, { ...record, Tags: tags ?? [] });
  return { ModelArn: arn };
}

function findModel(input: Input, ctx: ApiContext): ResourceRecord {
  const name = requiredName(input, 'ModelName');
  const model = ctx.store.get('models', name);
  if (!model) throw new ValidationExceptionError(`Could not find model "${sageMakerArn(ctx.arn, 'model', name)}".`);
  return model;
}

export function describeModel(input: Input, ctx: ApiContext): unknown {
  const { Tags: _tags, ...model } = findModel(input, ctx);
  return model;
}

export function deleteModel(input: Input, ctx: ApiContext): unknown {
  const model = findModel(input, ctx);
  ctx.store.delete('models', String(model.ModelName));
  return {};
}

export function listModels(input: Input, ctx: ApiContext): unknown {
  return listSummaries(ctx.store.list('models'), input, {
    member: 'Models',
    nameField: 'ModelName',
    fields: ['ModelName', 'ModelArn', 'CreationTime'],
  });
}
