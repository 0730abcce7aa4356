/** The control-plane operations the emulator serves, by their `X-Amz-Target` name. */
import type { Operation } from './context';
import { createEndpointConfig, deleteEndpointConfig, describeEndpointConfig, listEndpointConfigs } from './endpoint-configs';
import { createEndpoint, deleteEndpoint, describeEndpoint, listEndpoints, updateEndpoint } from './endpoints';
import {
  createModelPackage,
  createModelPackageGroup,
  deleteModelPackage,
  deleteModelPackageGroup,
  describeModelPackage,
  describeModelPackageGroup,
  listModelPackageGroups,
  listModelPackages,
  updateModelPackage,
} from './model-packages';
import { createModel, deleteModel, describeModel, listModels } from './models';
import { addTags, deleteTags, listTags } from './tags';
import { createTransformJob, describeTransformJob, listTransformJobs, stopTransformJob } from './transform-jobs';

export const OPERATIONS: Readonly<Record<string, Operation>> = Object.freeze({
  CreateModel: createModel,
  DescribeModel: describeModel,
  DeleteModel: deleteModel,
  ListModels: listModels,
  CreateEndpointConfig: createEndpointConfig,
  DescribeEndpointConfig: describeEndpointConfig,
  DeleteEndpointConfig: deleteEndpointConfig,
  ListEndpointConfigs: listEndpointConfigs,
  CreateEndpoint: createEndpoint,
  UpdateEndpoint: updateEndpoint,
  DescribeEndpoint: describeEndpoint,
  DeleteEndpoint: deleteEndpoint,
  ListEndpoints: listEndpoints,
  CreateModelPackageGroup: createModelPackageGroup,
  DescribeModelPackageGroup: describeModelPackageGroup,
  DeleteModelPackageGroup: deleteModelPackageGroup,
  ListModelPackageGroups: listModelPackageGroups,
  CreateModelPackage: createModelPackage,
  DescribeModelPackage: describeModelPackage,
  UpdateModelPackage: updateModelPackage,
  DeleteModelPackage: deleteModelPackage,
  ListModelPackages: listModelPackages,
  CreateTransformJob: createTransformJob,
  DescribeTransformJob: describeTransformJob,
  ListTransformJobs: listTransformJobs,
  StopTransformJob: stopTransformJob,
  AddTags: addTags,
  ListTags: listTags,
  DeleteTags: deleteTags,
});

/** The names of the operations served, for documentation and the README. */
export const SUPPORTED_OPERATIONS: readonly string[] = Object.freeze(Object.keys(OPERATIONS));
