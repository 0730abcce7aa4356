/**
 * `CreateEndpointConfig` requests: one production variant with the settings of the SageMaker SDK's
 * `deploy()` (instance type and count, volume size, model download and container health check timeouts),
 * data capture and the storage volume's KMS key.
 */
import type {
  CaptureOption,
  CreateEndpointConfigInput,
  DataCaptureConfig,
  ProductionVariant,
  ProductionVariantInstanceType,
} from '@aws-sdk/client-sagemaker';
import { buildTags, type TagMap } from './tags';

/** The variant name the SDK gives the single variant of a deployed model. */
export const DEFAULT_VARIANT_NAME = 'AllTraffic';

export interface VariantSpec {
  instanceType: string;
  initialInstanceCount: number;
  volumeSizeInGB?: number;
  modelDataDownloadTimeoutInSeconds?: number;
  containerStartupHealthCheckTimeoutInSeconds?: number;
  variantName?: string;
}

export interface DataCaptureSpec {
  destinationS3Uri: string;
  initialSamplingPercentage: number;
  captureModes: ('Input' | 'Output')[];
  kmsKeyId?: string;
  csvContentTypes?: string[];
  jsonContentTypes?: string[];
  enableCapture?: boolean;
}

export interface EndpointConfigSettings {
  endpointConfigName: string;
  modelName: string;
  variant: VariantSpec;
  dataCapture?: DataCaptureSpec;
  kmsKeyId?: string;
  tags?: TagMap;
}

export function buildProductionVariant(modelName: string, variant: VariantSpec): ProductionVariant {
  return {
    VariantName: variant.variantName ?? DEFAULT_VARIANT_NAME,
    ModelName: modelName,
    InitialInstanceCount: variant.initialInstanceCount,
    // The SDK's enum lags behind new instance families; SageMaker itself validates the value.
    InstanceType: variant.instanceType as ProductionVariantInstanceType,
    InitialVariantWeight: 1,
    ...(variant.volumeSizeInGB !== undefined ? { VolumeSizeInGB: variant.volumeSizeInGB } : {}),
    ...(variant.modelDataDownloadTimeoutInSeconds !== undefined
      ? { ModelDataDownloadTimeoutInSeconds: variant.modelDataDownloadTimeoutInSeconds }
      : {}),
    ...(variant.containerStartupHealthCheckTimeoutInSeconds !== undefined
      ? { ContainerStartupHealthCheckTimeoutInSeconds: variant.containerStartupHealthCheckTimeoutInSeconds }
      : {}),
  };
}

export function buildDataCaptureConfig(capture: DataCaptureSpec): DataCaptureConfig {
  const header =
    capture.csvContentTypes !== undefined || capture.jsonContentTypes !== undefined
      ? {
          CaptureContentTypeHeader: {
            ...(capture.csvContentTypes !== undefined ? { CsvContentTypes: [...capture.csvContentTypes] } : {}),
            ...(capture.jsonContentTypes !== undefined ? { JsonContentTypes: [...capture.jsonContentTypes] } : {}),
          },
        }
      : {};
  return {
    EnableCapture: capture.enableCapture ?? true,
    InitialSamplingPercentage: capture.initialSamplingPercentage,
    DestinationS3Uri: capture.destinationS3Uri,
    CaptureOptions: capture.captureModes.map((mode): CaptureOption => ({ CaptureMode: mode })),
    ...(capture.kmsKeyId !== undefined ? { KmsKeyId: capture.kmsKeyId } : {}),
    ...header,
  };
}

export function buildEndpointConfigRequest(settings: EndpointConfigSettings): CreateEndpointConfigInput {
  return {
    EndpointConfigName: settings.endpointConfigName,
    ProductionVariants: [buildProductionVariant(settings.modelName, settings.variant)],
    ...(settings.dataCapture !== undefined ? { DataCaptureConfig: buildDataCaptureConfig(settings.dataCapture) } : {}),
    ...(settings.kmsKeyId !== undefined ? { KmsKeyId: settings.kmsKeyId } : {}),
    Tags: buildTags(settings.tags),
  };
}
