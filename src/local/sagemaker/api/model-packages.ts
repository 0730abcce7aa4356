/**
 * The model registry: model package groups and model packages (versioned in a group, or unversioned), with
 * UpdateModelPackage for approval. Every field the SageMaker SDK's `register()` sends is accepted, kept
 * and returned by DescribeModelPackage.
 */
import { nowSeconds, type ResourceRecord } from '../state/state-store';
import { LOCAL_ACCOUNT_ID } from '../../../aws/stack-names';
import { nameFromArn, sageMakerArn } from './arns';
import type { ApiContext } from './context';
import { ConflictExceptionError, ValidationExceptionError } from './errors';
import { listSummaries } from './listing';
import {
  asObject,
  checkName,
  constraintError,
  optionalArray,
  optionalBoolean,
  optionalEnum,
  optionalObject,
  optionalString,
  optionalStringMap,
  optionalTags,
  requiredName,
  requiredString,
  type Input,
} from './validate';

const APPROVAL = ['Approved', 'Rejected', 'PendingManualApproval'] as const;

/** Fields of CreateModelPackage stored as given (after the checks below) and returned by Describe. */
const PASSTHROUGH = [
  'ValidationSpecification',
  'SourceAlgorithmSpecification',
  'MetadataProperties',
  'ModelMetrics',
  'DriftCheckBaselines',
  'AdditionalInferenceSpecifications',
  'SecurityConfig',
  'ModelCard',
  'ModelLifeCycle',
] as const;

function createdBy(ctx: ApiContext) {
  return { UserProfileArn: `arn:aws:iam::${ctx.arn.accountId || LOCAL_ACCOUNT_ID}:user/local` };
}

export function createModelPackageGroup(input: Input, ctx: ApiContext): unknown {
  const name = requiredName(input, 'ModelPackageGroupName');
  const description = optionalString(input, 'ModelPackageGroupDescription', 'ModelPackageGroupDescription', 1024);
  const tags = optionalTags(input);
  const arn = sageMakerArn(ctx.arn, 'model-package-group', name);
  if (ctx.store.get('modelPackageGroups', name)) throw new ValidationExceptionError(`Model Package Group already exists: ${arn}`);
  ctx.store.put('modelPackageGroups', name, {
    ModelPackageGroupName: name,
    ModelPackageGroupArn: arn,
    ...(description !== undefined ? { ModelPackageGroupDescription: description } : {}),
    CreationTime: nowSeconds(),
    CreatedBy: createdBy(ctx),
    ModelPackageGroupStatus: 'Completed',
    Tags: tags ?? [],
  });
  return { ModelPackageGroupArn: arn };
}

function findGroup(nameOrArn: string, ctx: ApiContext): ResourceRecord {
  const name = nameFromArn(nameOrArn, 'model-package-group');
  const group = ctx.store.get('modelPackageGroups', name);
  if (!group) throw new ValidationExceptionError(`ModelPackageGroup ${name} does not exist.`);
  return group;
}

export function describeModelPackageGroup(input: Input, ctx: ApiContext): unknown {
  const { Tags: _t, ...group } = findGroup(requiredString(input, 'ModelPackageGroupName', 'ModelPackageGroupName', 2048), ctx);
  return group;
}

export function deleteModelPackageGroup(input: Input, ctx: ApiContext): unknown {
  const group = findGroup(requiredString(input, 'ModelPackageGroupName', 'ModelPackageGroupName', 2048), ctx);
  const name = String(group.ModelPackageGroupName);
  if (ctx.store.list('modelPackages').some((p) => String(p.ModelPackageGroupName ?? '').toLowerCase() === name.toLowerCase())) {
    throw new ConflictExceptionError(`Model Package Group ${name} has model packages; delete them before deleting the group.`);
  }
  ctx.store.delete('modelPackageGroups', name);
  return {};
}

export function listModelPackageGroups(input: Input, ctx: ApiContext): unknown {
  return listSummaries(ctx.store.list('modelPackageGroups'), input, {
    member: 'ModelPackageGroupSummaryList',
    nameField: 'ModelPackageGroupName',
    fields: ['ModelPackageGroupName', 'ModelPackageGroupArn', 'ModelPackageGroupDescription', 'CreationTime', 'ModelPackageGroupStatus'],
  });
}

function inferenceSpecification(raw: Input, path: string): Input {
  const containers = optionalArray(raw, 'Containers', `${path}.Containers`, 1, 15);
  if (!containers) throw constraintError(`${path}.Containers`, null, 'Member must not be null');
  containers.forEach((c, i) => {
    const container = asObject(c, `${path}.Containers.${i + 1}`);
    requiredString(container, 'Image', `${path}.Containers.${i + 1}.member.Image`, 255);
    optionalString(container, 'ModelDataUrl', `${path}.Containers.${i + 1}.member.ModelDataUrl`, 1024);
    optionalStringMap(container, 'Environment', `${path}.Containers.${i + 1}.member.Environment`);
  });
  for (const key of ['SupportedTransformInstanceTypes', 'SupportedRealtimeInferenceInstanceTypes', 'SupportedContentTypes', 'SupportedResponseMIMETypes']) {
    optionalArray(raw, key, `${path}.${key}`, 0, 100);
  }
  return raw;
}

/** The key a package is stored under: `<group>/<version>` or its own name. */
function packageKey(nameOrArn: string): string {
  return nameFromArn(nameOrArn, 'model-package');
}

export function createModelPackage(input: Input, ctx: ApiContext): unknown {
  const groupName = optionalString(input, 'ModelPackageGroupName', 'ModelPackageGroupName', 170);
  const ownName = optionalString(input, 'ModelPackageName', 'ModelPackageName', 63);
  if ((groupName === undefined) === (ownName === undefined)) {
    throw new ValidationExceptionError('Exactly one of ModelPackageName (unversioned) and ModelPackageGroupName (versioned) must be specified.');
  }
  const record: ResourceRecord = {};
  const description = optionalString(input, 'ModelPackageDescription', 'ModelPackageDescription', 1024);
  if (description !== undefined) record.ModelPackageDescription = description;
  const spec = optionalObject(input, 'InferenceSpecification', 'InferenceSpecification');
  if (spec) record.InferenceSpecification = inferenceSpecification(spec, 'InferenceSpecification');
  const approval = optionalEnum(input, 'ModelApprovalStatus', 'ModelApprovalStatus', APPROVAL);
  const certify = optionalBoolean(input, 'CertifyForMarketplace');
  if (certify !== undefined) record.CertifyForMarketplace = certify;
  const customer = optionalStringMap(input, 'CustomerMetadataProperties', 'CustomerMetadataProperties');
  if (customer) record.CustomerMetadataProperties = customer;
  for (const key of ['Domain', 'Task', 'SamplePayloadUrl', 'SourceUri', 'ClientToken'] as const) {
    const value = optionalString(input, key, key, 1024);
    if (value !== undefined) record[key] = value;
  }
  const skip = optionalEnum(input, 'SkipModelValidation', 'SkipModelValidation', ['All', 'None'] as const);
  if (skip) record.SkipModelValidation = skip;
  for (const key of PASSTHROUGH) {
    const value = key === 'AdditionalInferenceSpecifications' ? optionalArray(input, key, key, 1, 15) : optionalObject(input, key, key);
    if (value !== undefined) record[key] = value;
  }
  const tags = optionalTags(input);
  const now = nowSeconds();
  let key: string;
  if (groupName !== undefined) {
    const group = findGroup(groupName, ctx);
    const gname = String(group.ModelPackageGroupName);
    if (record.ClientToken) {
      const previous = ctx.store.list('modelPackages').find((p) => p.ModelPackageGroupName === gname && p.ClientToken === record.ClientToken);
      if (previous) return { ModelPackageArn: previous.ModelPackageArn };
    }
    const version = 1 + Math.max(0, ...ctx.store.list('modelPackages').filter((p) => p.ModelPackageGroupName === gname).map((p) => Number(p.ModelPackageVersion)));
    key = `${gname}/${version}`;
    Object.assign(record, { ModelPackageName: gname, ModelPackageGroupName: gname, ModelPackageVersion: version });
    // Versioned packages start pending unless the caller says otherwise, as in SageMaker.
    record.ModelApprovalStatus = approval ?? 'PendingManualApproval';
  } else {
    key = checkName(ownName!, 'ModelPackageName');
    if (ctx.store.get('modelPackages', key)) {
      throw new ValidationExceptionError(`Model Package already exists: ${sageMakerArn(ctx.arn, 'model-package', key)}`);
    }
    record.ModelPackageName = key;
    if (approval) record.ModelApprovalStatus = approval;
  }
  const arn = sageMakerArn(ctx.arn, 'model-package', key);
  Object.assign(record, {
    ModelPackageArn: arn,
    CreationTime: now,
    LastModifiedTime: now,
    ModelPackageStatus: 'Completed',
    ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
    CreatedBy: createdBy(ctx),
    LastModifiedBy: createdBy(ctx),
    Tags: tags ?? [],
  });
  ctx.store.put('modelPackages', key, record);
  return { ModelPackageArn: arn };
}

function findPackage(nameOrArn: string, ctx: ApiContext): ResourceRecord {
  const key = packageKey(nameOrArn);
  const record = ctx.store.get('modelPackages', key);
  if (!record) throw new ValidationExceptionError(`ModelPackage ${sageMakerArn(ctx.arn, 'model-package', key)} does not exist.`);
  return record;
}

export function describeModelPackage(input: Input, ctx: ApiContext): unknown {
  const { Tags: _t, ClientToken: _c, ...record } = findPackage(requiredString(input, 'ModelPackageName', 'ModelPackageName', 2048), ctx);
  return record;
}

export function updateModelPackage(input: Input, ctx: ApiContext): unknown {
  const record = findPackage(requiredString(input, 'ModelPackageArn', 'ModelPackageArn', 2048), ctx);
  const approval = optionalEnum(input, 'ModelApprovalStatus', 'ModelApprovalStatus', APPROVAL);
  const approvalDescription = optionalString(input, 'ApprovalDescription', 'ApprovalDescription', 1024);
  const customer = optionalStringMap(input, 'CustomerMetadataProperties', 'CustomerMetadataProperties');
  const toRemove = optionalArray(input, 'CustomerMetadataPropertiesToRemove', 'CustomerMetadataPropertiesToRemove', 0, 50);
  const additional = optionalArray(input, 'AdditionalInferenceSpecificationsToAdd', 'AdditionalInferenceSpecificationsToAdd', 1, 15);
  const spec = optionalObject(input, 'InferenceSpecification', 'InferenceSpecification');
  const sourceUri = optionalString(input, 'SourceUri', 'SourceUri', 1024);
  const card = optionalObject(input, 'ModelCard', 'ModelCard');
  const lifeCycle = optionalObject(input, 'ModelLifeCycle', 'ModelLifeCycle');
  const fields: ResourceRecord = { LastModifiedTime: nowSeconds(), LastModifiedBy: createdBy(ctx) };
  if (approval) fields.ModelApprovalStatus = approval;
  if (approvalDescription !== undefined) fields.ApprovalDescription = approvalDescription;
  if (customer || toRemove) {
    const merged = { ...((record.CustomerMetadataProperties as Record<string, string>) ?? {}), ...(customer ?? {}) };
    for (const key of toRemove ?? []) delete merged[String(key)];
    fields.CustomerMetadataProperties = merged;
  }
  if (additional) fields.AdditionalInferenceSpecifications = [...((record.AdditionalInferenceSpecifications as unknown[]) ?? []), ...additional];
  if (spec) fields.InferenceSpecification = inferenceSpecification(spec, 'InferenceSpecification');
  if (sourceUri !== undefined) fields.SourceUri = sourceUri;
  if (card) fields.ModelCard = card;
  if (lifeCycle) fields.ModelLifeCycle = lifeCycle;
  const key = packageKey(String(record.ModelPackageArn));
  ctx.store.update('modelPackages', key, fields);
  return { ModelPackageArn: record.ModelPackageArn };
}

export function deleteModelPackage(input: Input, ctx: ApiContext): unknown {
  const record = findPackage(requiredString(input, 'ModelPackageName', 'ModelPackageName', 2048), ctx);
  ctx.store.delete('modelPackages', packageKey(String(record.ModelPackageArn)));
  return {};
}

export function listModelPackages(input: Input, ctx: ApiContext): unknown {
  const group = optionalString(input, 'ModelPackageGroupName', 'ModelPackageGroupName', 2048);
  const approval = optionalEnum(input, 'ModelApprovalStatus', 'ModelApprovalStatus', APPROVAL);
  const type = optionalEnum(input, 'ModelPackageType', 'ModelPackageType', ['Versioned', 'Unversioned', 'Both'] as const) ?? 'Unversioned';
  const groupName = group === undefined ? undefined : nameFromArn(group, 'model-package-group').toLowerCase();
  const records = ctx.store.list('modelPackages').filter((p) => {
    const versioned = p.ModelPackageGroupName !== undefined;
    if (groupName !== undefined) return versioned && String(p.ModelPackageGroupName).toLowerCase() === groupName && (!approval || p.ModelApprovalStatus === approval);
    if (type === 'Versioned' && !versioned) return false;
    if (type === 'Unversioned' && versioned) return false;
    return !approval || p.ModelApprovalStatus === approval;
  });
  return listSummaries(records, input, {
    member: 'ModelPackageSummaryList',
    nameField: 'ModelPackageName',
    fields: ['ModelPackageName', 'ModelPackageGroupName', 'ModelPackageVersion', 'ModelPackageArn', 'ModelPackageDescription', 'CreationTime', 'ModelPackageStatus', 'ModelApprovalStatus'],
  });
}
