/**
 * The local SageMaker: control plane, runtime and containers (DESIGN.md §3). The edge routes SageMaker
 * requests to `createSageMakerEmulator(...).handle`; `startSageMakerServer` serves it on its own port.
 */
export { createSageMakerEmulator } from './emulator';
export { LOCAL_PREFIX } from './emulator';
export type { ContainerInfo, EndpointModelsListing, MultiModelOptions, SageMakerEmulator, SageMakerEmulatorOptions } from './emulator';
export type { InstanceModelsStatus, MultiModelCounters, TargetModelStatus } from './multi-model/model-host';
export { instanceTypeMemoryBytes, MEMORY_BUDGET_ENV, MemoryBudgetError } from './multi-model/memory-budget';
export { MODEL_DATA_CACHE_ENV } from './model-data/model-data-cache';
export type { ModelDataCacheStats } from './model-data/model-data-cache';
export { startSageMakerServer } from './server';
export type { SageMakerServer } from './server';
export { BUILTIN_ONNX_IMAGE, IMAGE_MAP_ENV, IMAGE_MAP_FILE_NAME, ImageMap, ImageMapError } from './containers/image-map';
export type { ImageTarget } from './containers/image-map';
export { SUPPORTED_OPERATIONS } from './api/operations';
export { isRuntimeRequest, MAX_PAYLOAD_BYTES } from './runtime/invoke-endpoint';
export { StateFileError, STATE_FILE_NAME } from './state/state-store';
export type { ApiLimits, TransformRunner } from './api/context';
export { ModelDataCache, ModelDataError, parseS3Url } from './model-data/model-data-cache';
export type { ModelDataLocation } from './model-data/model-data-cache';
export { ContainerProcess, ContainerStartError } from './containers/container-process';
export { CONTAINER_CACHE_ENV } from './containers/builtin-container-command';
export { CONTAINER_STANDBY_ENV } from './containers/container-standby';
export type { ContainerLaunch } from './containers/container-process';
export { EndpointListingError, fetchEndpointModels } from './multi-model/listing-client';
export type { ListingRequestOptions } from './multi-model/listing-client';
