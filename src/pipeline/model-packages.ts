/**
 * `CreateModelPackage` and `CreateModelPackageGroup` requests with every field of the SageMaker Python
 * SDK's `PipelineModel.register()`: content and response types, realtime and transform instance types,
 * a versioned package (in a group) or an unversioned one (by name), approval status, model metrics,
 * drift check baselines, metadata, customer metadata, domain, task, sample payload, framework details.
 */
import type {
  CreateModelPackageGroupInput,
  CreateModelPackageInput,
  DriftCheckBaselines,
  FileSource,
  InferenceSpecification,
  MetricsSource,
  ModelApprovalStatus,
  ModelMetrics,
  ModelPackageContainerDefinition,
  ProductionVariantInstanceType,
  SkipModelValidation,
  TransformInstanceType,
} from '@aws-sdk/client-sagemaker';
import { omitUndefined } from './omit-undefined';
import { buildTags, type TagMap } from './tags';

export interface MetricsSourceSpec {
  contentType: string;
  s3Uri: string;
  contentDigest?: string;
}

export interface FileSourceSpec {
  s3Uri: string;
  contentType?: string;
  contentDigest?: string;
}

export interface ModelMetricsSpec {
  modelQuality?: { statistics?: MetricsSourceSpec; constraints?: MetricsSourceSpec };
  modelDataQuality?: { statistics?: MetricsSourceSpec; constraints?: MetricsSourceSpec };
  bias?: { report?: MetricsSourceSpec; preTrainingReport?: MetricsSourceSpec; postTrainingReport?: MetricsSourceSpec };
  explainability?: { report?: MetricsSourceSpec };
}

export interface DriftCheckBaselinesSpec {
  bias?: {
    configFile?: FileSourceSpec;
    preTrainingConstraints?: MetricsSourceSpec;
    postTrainingConstraints?: MetricsSourceSpec;
  };
  explainability?: { constraints?: MetricsSourceSpec; configFile?: FileSourceSpec };
  modelQuality?: { statistics?: MetricsSourceSpec; constraints?: MetricsSourceSpec };
  modelDataQuality?: { statistics?: MetricsSourceSpec; constraints?: MetricsSourceSpec };
}

/** One container of a package; framework details default to the package-wide ones. */
export interface PackageContainerSpec {
  image: string;
  modelDataUrl?: string;
  environment?: Record<string, string>;
  containerHostname?: string;
  framework?: string;
  frameworkVersion?: string;
  nearestModelName?: string;
  dataInputConfiguration?: string;
}

export interface ModelPackageSpec {
  /** Exactly one of the two: a versioned package in a group, or an unversioned package by name. */
  modelPackageGroupName?: string;
  modelPackageName?: string;
  containers: PackageContainerSpec[];
  contentTypes: string[];
  responseTypes: string[];
  inferenceInstances?: string[];
  transformInstances?: string[];
  approvalStatus: 'Approved' | 'Rejected' | 'PendingManualApproval';
  description?: string;
  modelMetrics?: ModelMetricsSpec;
  driftCheckBaselines?: DriftCheckBaselinesSpec;
  metadataProperties?: { commitId?: string; repository?: string; generatedBy?: string; projectId?: string };
  customerMetadataProperties?: Record<string, string>;
  marketplaceCert?: boolean;
  domain?: string;
  task?: string;
  samplePayloadUrl?: string;
  framework?: string;
  frameworkVersion?: string;
  nearestModelName?: string;
  dataInputConfiguration?: string;
  skipModelValidation?: 'All' | 'None';
  tags?: TagMap;
}


function metricsSource(spec: MetricsSourceSpec | undefined): MetricsSource | undefined {
  if (spec === undefined) return undefined;
  return omitUndefined<MetricsSource>({ ContentType: spec.contentType, S3Uri: spec.s3Uri, ContentDigest: spec.contentDigest });
}

function fileSource(spec: FileSourceSpec | undefined): FileSource | undefined {
  if (spec === undefined) return undefined;
  return omitUndefined<FileSource>({ S3Uri: spec.s3Uri, ContentType: spec.contentType, ContentDigest: spec.contentDigest });
}

/** Keeps a structure only when at least one of its members is set. */
function nonEmpty<T extends object>(value: T): T | undefined {
  const kept = omitUndefined(value);
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** The statistics/constraints pair that model metrics and drift baselines both use for quality checks. */
function statisticsAndConstraints(spec: { statistics?: MetricsSourceSpec; constraints?: MetricsSourceSpec } | undefined) {
  return spec ? nonEmpty({ Statistics: metricsSource(spec.statistics), Constraints: metricsSource(spec.constraints) }) : undefined;
}

export function buildModelMetrics(spec: ModelMetricsSpec): ModelMetrics | undefined {
  return nonEmpty({
    ModelQuality: statisticsAndConstraints(spec.modelQuality),
    ModelDataQuality: statisticsAndConstraints(spec.modelDataQuality),
    Bias: spec.bias
      ? nonEmpty({
          Report: metricsSource(spec.bias.report),
          PreTrainingReport: metricsSource(spec.bias.preTrainingReport),
          PostTrainingReport: metricsSource(spec.bias.postTrainingReport),
        })
      : undefined,
    Explainability: spec.explainability ? nonEmpty({ Report: metricsSource(spec.explainability.report) }) : undefined,
  });
}

export function buildDriftCheckBaselines(spec: DriftCheckBaselinesSpec): DriftCheckBaselines | undefined {
  return nonEmpty({
    Bias: spec.bias
      ? nonEmpty({
          ConfigFile: fileSource(spec.bias.configFile),
          PreTrainingConstraints: metricsSource(spec.bias.preTrainingConstraints),
          PostTrainingConstraints: metricsSource(spec.bias.postTrainingConstraints),
        })
      : undefined,
    Explainability: spec.explainability
      ? nonEmpty({
          Constraints: metricsSource(spec.explainability.constraints),
          ConfigFile: fileSource(spec.explainability.configFile),
        })
      : undefined,
    ModelQuality: statisticsAndConstraints(spec.modelQuality),
    ModelDataQuality: statisticsAndConstraints(spec.modelDataQuality),
  });
}

export function buildPackageContainer(
  container: PackageContainerSpec,
  packageWide: Pick<ModelPackageSpec, 'framework' | 'frameworkVersion' | 'nearestModelName' | 'dataInputConfiguration'>,
): ModelPackageContainerDefinition {
  const dataInput = container.dataInputConfiguration ?? packageWide.dataInputConfiguration;
  return omitUndefined<ModelPackageContainerDefinition>({
    ContainerHostname: container.containerHostname,
    Image: container.image,
    ModelDataUrl: container.modelDataUrl,
    Environment:
      container.environment !== undefined && Object.keys(container.environment).length > 0
        ? { ...container.environment }
        : undefined,
    ModelInput: dataInput !== undefined ? { DataInputConfig: dataInput } : undefined,
    Framework: container.framework ?? packageWide.framework,
    FrameworkVersion: container.frameworkVersion ?? packageWide.frameworkVersion,
    NearestModelName: container.nearestModelName ?? packageWide.nearestModelName,
  });
}

export function buildInferenceSpecification(spec: ModelPackageSpec): InferenceSpecification {
  return omitUndefined<InferenceSpecification>({
    Containers: spec.containers.map((container) => buildPackageContainer(container, spec)),
    SupportedContentTypes: [...spec.contentTypes],
    SupportedResponseMIMETypes: [...spec.responseTypes],
    // The SDK's enums lag behind new instance families; SageMaker itself validates the values.
    SupportedRealtimeInferenceInstanceTypes: spec.inferenceInstances?.map((t) => t as ProductionVariantInstanceType),
    SupportedTransformInstanceTypes: spec.transformInstances?.map((t) => t as TransformInstanceType),
  });
}

export function buildCreateModelPackageRequest(spec: ModelPackageSpec): CreateModelPackageInput {
  const metadata = spec.metadataProperties
    ? nonEmpty({
        CommitId: spec.metadataProperties.commitId,
        Repository: spec.metadataProperties.repository,
        GeneratedBy: spec.metadataProperties.generatedBy,
        ProjectId: spec.metadataProperties.projectId,
      })
    : undefined;
  return omitUndefined<CreateModelPackageInput>({
    ModelPackageGroupName: spec.modelPackageGroupName,
    ModelPackageName: spec.modelPackageName,
    ModelPackageDescription: spec.description,
    InferenceSpecification: buildInferenceSpecification(spec),
    ModelApprovalStatus: spec.approvalStatus as ModelApprovalStatus,
    CertifyForMarketplace: spec.marketplaceCert,
    MetadataProperties: metadata,
    ModelMetrics: spec.modelMetrics ? buildModelMetrics(spec.modelMetrics) : undefined,
    DriftCheckBaselines: spec.driftCheckBaselines ? buildDriftCheckBaselines(spec.driftCheckBaselines) : undefined,
    CustomerMetadataProperties:
      spec.customerMetadataProperties !== undefined && Object.keys(spec.customerMetadataProperties).length > 0
        ? { ...spec.customerMetadataProperties }
        : undefined,
    Domain: spec.domain,
    Task: spec.task,
    SamplePayloadUrl: spec.samplePayloadUrl,
    SkipModelValidation: spec.skipModelValidation as SkipModelValidation | undefined,
    Tags: buildTags(spec.tags),
  });
}

export function buildCreateModelPackageGroupRequest(
  groupName: string,
  description: string | undefined,
  tags: TagMap | undefined,
): CreateModelPackageGroupInput {
  return omitUndefined<CreateModelPackageGroupInput>({ ModelPackageGroupName: groupName, ModelPackageGroupDescription: description, Tags: buildTags(tags) });
}
