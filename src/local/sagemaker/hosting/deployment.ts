/**
 * A deployment is an endpoint configuration brought to life: for every production variant, as many
 * instances as it asks for, each instance running one process per container of the variant's model.
 * It is all or nothing: if any container cannot start, everything started is stopped again and the
 * failure is reported with a reason worded for the endpoint's `FailureReason`.
 */
import { join } from 'node:path';
import { ContainerProcess, ContainerStartError, type ContainerLaunch } from '../containers/container-process';
import type { ImageMap } from '../containers/image-map';
import { ModelDataError, type ModelDataCache, type ModelDataLocation } from '../model-data/model-data-cache';
import type { ResourceRecord } from '../state/state-store';

/** Bringing up the deployment failed; `reason` goes into `FailureReason`. */
export class DeploymentFailedError extends Error {
  override readonly name = 'DeploymentFailedError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface RunningContainer {
  /** `ContainerHostname`, or SageMaker's default `container-<n>` (1-based) / `primary` for one container. */
  hostname: string;
  image: string;
  process: ContainerProcess;
}

export interface RunningInstance {
  containers: RunningContainer[];
}

export interface RunningVariant {
  name: string;
  modelName: string;
  weight: number;
  instanceType: string | undefined;
  mode: 'Serial' | 'Direct';
  multiModel: boolean;
  instances: RunningInstance[];
  /** Images as `DescribeEndpoint` reports them. */
  images: string[];
  next: number;
}

export interface Deployment {
  configName: string;
  variants: RunningVariant[];
  startedAt: number;
  /** Set when the deployment is being stopped, so crashed containers are no longer replaced. */
  stopped?: boolean;
}

/** What a bring-up needs from the emulator. */
export interface DeploymentContext {
  images: ImageMap;
  modelData: ModelDataCache;
  logsDir: string;
  /** Real milliseconds allowed for `/ping` to pass, from the variant's health-check timeout in AWS seconds. */
  healthCheckTimeoutMs(awsSeconds: number | undefined): number;
  /** Real milliseconds allowed for a model-data download, from the variant's timeout in AWS seconds. */
  downloadTimeoutMs(awsSeconds: number | undefined): number;
}

interface ContainerPlan {
  hostname: string;
  image: string;
  environment: Record<string, string>;
  data: ModelDataLocation | undefined;
  multiModel: boolean;
  target: NonNullable<ReturnType<ImageMap['resolve']>>;
}

/** The container definitions of a model, in order (`Containers`, or the single `PrimaryContainer`). */
export function modelContainers(model: ResourceRecord): ResourceRecord[] {
  const containers = model.Containers as ResourceRecord[] | undefined;
  if (containers && containers.length > 0) return containers;
  return model.PrimaryContainer ? [model.PrimaryContainer as ResourceRecord] : [];
}

/** Where a container definition's model data is, from `ModelDataUrl` or `ModelDataSource`. */
export function modelDataLocation(container: ResourceRecord): ModelDataLocation | undefined {
  if (typeof container.ModelDataUrl === 'string') return { url: container.ModelDataUrl, compression: 'Gzip' };
  const source = (container.ModelDataSource as ResourceRecord | undefined)?.S3DataSource as ResourceRecord | undefined;
  if (source && typeof source.S3Uri === 'string') {
    return { url: source.S3Uri, compression: source.CompressionType === 'Gzip' ? 'Gzip' : 'None' };
  }
  return undefined;
}

function plan(model: ResourceRecord, images: ImageMap): ContainerPlan[] {
  const containers = modelContainers(model);
  return containers.map((c, i) => {
    const image = String(c.Image ?? '');
    const hostname =
      typeof c.ContainerHostname === 'string' ? c.ContainerHostname : containers.length === 1 ? 'primary' : `container-${i + 1}`;
    const target = images.resolve(image);
    if (!target) throw new DeploymentFailedError(images.unmappedReason(image));
    const multiModel = c.Mode === 'MultiModel';
    return {
      hostname,
      image,
      environment: (c.Environment as Record<string, string> | undefined) ?? {},
      // A multi-model container loads its models on demand from the prefix; nothing is fetched up front.
      data: multiModel ? undefined : modelDataLocation(c),
      multiModel,
      target,
    };
  });
}

/**
 * SageMaker replaces an instance whose container dies; locally the container is started again with the
 * same launch (a new port) and swapped in once it passes `/ping`. Meanwhile requests routed to it get
 * `ServiceUnavailable`. The replacement is supervised the same way.
 */
function superviseContainer(deployment: Deployment, container: RunningContainer, ctx: DeploymentContext): void {
  container.process.onUnexpectedExit((reason) => {
    if (deployment.stopped) return;
    console.error(`sagemaker emulator: ${reason}; starting a replacement`);
    void (async () => {
      const replacement = await ContainerProcess.start(container.process.launch);
      try {
        await replacement.waitHealthy(ctx.healthCheckTimeoutMs(undefined));
      } catch (error) {
        await replacement.stop();
        console.error(`sagemaker emulator: replacement of ${container.process.launch.label} failed: ${(error as Error).message}`);
        return;
      }
      if (deployment.stopped) return void (await replacement.stop());
      container.process = replacement;
      superviseContainer(deployment, container, ctx);
    })();
  });
}

/** Stops every container of a deployment (or of the part of one that was started). */
export async function stopContainers(processes: Iterable<ContainerProcess>): Promise<void> {
  await Promise.all([...processes].map((p) => p.stop()));
}

export async function stopDeployment(deployment: Deployment): Promise<void> {
  deployment.stopped = true;
  await stopContainers(deployment.variants.flatMap((v) => v.instances.flatMap((i) => i.containers.map((c) => c.process))));
}

/**
 * Brings up `config` with the `models` it names: model data first (shared by instances), then every
 * container process of every instance, in parallel, each until it passes `/ping`.
 *
 * @throws {DeploymentFailedError} with the first reason found; nothing is left running.
 */
export async function bringUpDeployment(
  endpointName: string,
  config: ResourceRecord,
  models: Map<string, ResourceRecord>,
  ctx: DeploymentContext,
  signal: AbortSignal,
): Promise<Deployment> {
  const started: ContainerProcess[] = [];
  const variants: RunningVariant[] = [];
  try {
    for (const variant of config.ProductionVariants as ResourceRecord[]) {
      const modelName = String(variant.ModelName);
      const model = models.get(modelName.toLowerCase());
      if (!model) throw new DeploymentFailedError(`Could not find model "${modelName}" for production variant ${variant.VariantName}.`);
      const plans = plan(model, ctx.images);
      const dirs = await Promise.all(
        plans.map((p) =>
          p.data
            ? ctx.modelData.fetch(p.data, {
                owner: `container "${p.hostname}" of production variant ${variant.VariantName}`,
                timeoutMs: ctx.downloadTimeoutMs(variant.ModelDataDownloadTimeoutInSeconds as number | undefined),
                signal,
              })
            : ctx.modelData.emptyDir(),
        ),
      );
      const count = Number(variant.InitialInstanceCount ?? 1);
      const instances: RunningInstance[] = [];
      const healthMs = ctx.healthCheckTimeoutMs(variant.ContainerStartupHealthCheckTimeoutInSeconds as number | undefined);
      const waits: Promise<void>[] = [];
      for (let n = 0; n < count; n++) {
        const containers: RunningContainer[] = [];
        for (const [i, p] of plans.entries()) {
          const launch: ContainerLaunch = {
            label: `${endpointName}/${variant.VariantName}/${p.hostname}`,
            target: p.target,
            modelDir: dirs[i]!,
            environment: p.environment,
            multiModel: p.multiModel,
            logFile: join(ctx.logsDir, endpointName, `${variant.VariantName}-i${n + 1}-${p.hostname}.log`),
          };
          const process = await ContainerProcess.start(launch);
          started.push(process);
          containers.push({ hostname: p.hostname, image: p.image, process });
          waits.push(process.waitHealthy(healthMs, signal));
        }
        instances.push({ containers });
      }
      // Every wait is settled before deciding, so none is left polling a process that gets stopped.
      const results = await Promise.allSettled(waits);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      variants.push({
        name: String(variant.VariantName),
        modelName,
        weight: Number(variant.InitialVariantWeight ?? 1),
        instanceType: variant.InstanceType as string | undefined,
        mode: (model.InferenceExecutionConfig as ResourceRecord | undefined)?.Mode === 'Direct' ? 'Direct' : 'Serial',
        multiModel: plans.some((p) => p.multiModel),
        instances,
        images: plans.map((p) => p.image),
        next: 0,
      });
    }
    const deployment: Deployment = { configName: String(config.EndpointConfigName), variants, startedAt: Date.now() };
    for (const variant of variants) for (const instance of variant.instances) for (const c of instance.containers) superviseContainer(deployment, c, ctx);
    return deployment;
  } catch (error) {
    await stopContainers(started);
    if (error instanceof DeploymentFailedError) throw error;
    if (error instanceof ContainerStartError || error instanceof ModelDataError) throw new DeploymentFailedError(error.reason);
    throw new DeploymentFailedError(`Endpoint ${endpointName} could not be brought up: ${(error as Error).message}`);
  }
}
