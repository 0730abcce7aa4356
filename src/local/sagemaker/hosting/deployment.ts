/**
 * A deployment is an endpoint configuration brought to life: for every production variant, as many
 * instances as it asks for, each instance running one process per container of the variant's model.
 * It is all or nothing: if any container cannot start, everything started is stopped again and the
 * failure is reported with a reason worded for the endpoint's `FailureReason`.
 */
import { join } from 'node:path';
import { ContainerProcess, ContainerStartError, type ContainerLaunch } from '../containers/container-process';
import type { ImageMap } from '../containers/image-map';
import { residentBytes } from '../containers/process-memory';
import { ModelDataError, type ModelDataCache, type ModelDataLocation } from '../model-data/model-data-cache';
import { MemoryBudgetError, resolveMemoryBudget } from '../multi-model/memory-budget';
import { MultiModelHost } from '../multi-model/model-host';
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
  /** The instance's model cache, on a multi-model variant. */
  models?: MultiModelHost;
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
  /** Replacements of crashed containers still starting: stopping the deployment cancels them and waits for them. */
  replacements: Set<Promise<void>>;
  /** Aborted when the deployment stops, so a replacement waiting for `/ping` gives up at once. */
  cancel: AbortController;
  /** Model-data folders this deployment pins in the cache, released when it stops. */
  release?: () => void;
}

/** How multi-model instances are run (see `multi-model/`). */
export interface MultiModelContext {
  /** Budget override from the emulator options, in bytes. */
  memoryBudgetBytes: number | undefined;
  /** Real ms a call waits for a model load before `ModelNotReadyException`. */
  loadWaitMs: number;
  /** Real ms a model load may take in all. */
  loadTimeoutMs: number;
  /** Resident bytes of a process tree; replaceable in tests. */
  measure?: (pid: number | undefined) => number;
  /** Where model-cache events go (the endpoint's `multi-model.log` and the emulator's log). */
  log(endpointName: string, line: string): void;
  logStreamArn(endpointName: string): string;
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
  multiModel: MultiModelContext;
  /**
   * True once the emulator is closing. Ctrl-C reaches every process of the terminal's process group, so a
   * container may die of it just before the emulator's close runs: it is not replaced then.
   */
  closing?: () => boolean;
}

/** Extra settings of a bring-up that is not an endpoint (a transform job's own containers). */
export interface BringUpOptions {
  /** Merged over every container's `Environment` (a transform job's `Environment` and batch variables). */
  environment?: Record<string, string>;
  /** Folder under the logs dir; default the endpoint name. */
  logFolder?: string;
}

interface ContainerPlan {
  hostname: string;
  image: string;
  environment: Record<string, string>;
  data: ModelDataLocation | undefined;
  multiModel: boolean;
  /** The S3 prefix of a multi-model container's models. */
  prefix: string | undefined;
  cacheEnabled: boolean;
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
      prefix: multiModel ? modelDataLocation(c)?.url : undefined,
      cacheEnabled: (c.MultiModelConfig as ResourceRecord | undefined)?.ModelCacheSetting !== 'Disabled',
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
    if (deployment.stopped || ctx.closing?.()) return;
    console.error(`sagemaker emulator: ${reason}; starting a replacement`);
    const replacing = replaceContainer(deployment, container, ctx).finally(() => deployment.replacements.delete(replacing));
    deployment.replacements.add(replacing);
  });
}

async function replaceContainer(deployment: Deployment, container: RunningContainer, ctx: DeploymentContext): Promise<void> {
  const label = container.process.launch.label;
  let replacement: ContainerProcess | undefined;
  try {
    replacement = await ContainerProcess.start(container.process.launch);
    await replacement.waitHealthy(ctx.healthCheckTimeoutMs(undefined), deployment.cancel.signal);
  } catch (error) {
    await replacement?.stop();
    if (!deployment.stopped) console.error(`sagemaker emulator: replacement of ${label} failed: ${(error as Error).message}`);
    return;
  }
  // The deployment may have been stopped while the replacement started: it must not outlive it.
  if (deployment.stopped || ctx.closing?.()) return void (await replacement.stop());
  container.process = replacement;
  superviseContainer(deployment, container, ctx);
}

/** Stops every container of a deployment (or of the part of one that was started). */
export async function stopContainers(processes: Iterable<ContainerProcess>): Promise<void> {
  await Promise.all([...processes].map((p) => p.stop()));
}

/** Stops a deployment: its model caches, its containers and any replacement of a crashed container still starting. */
export async function stopDeployment(deployment: Deployment): Promise<void> {
  deployment.stopped = true;
  deployment.cancel.abort();
  await Promise.all(deployment.replacements);
  await Promise.all(deployment.variants.flatMap((v) => v.instances.map((i) => i.models?.close())));
  deployment.release?.();
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
  options: BringUpOptions = {},
): Promise<Deployment> {
  const started: ContainerProcess[] = [];
  const variants: RunningVariant[] = [];
  const pinned: string[] = [];
  const release = () => {
    for (const dir of pinned.splice(0)) ctx.modelData.release(dir);
  };
  try {
    for (const variant of config.ProductionVariants as ResourceRecord[]) {
      const modelName = String(variant.ModelName);
      const model = models.get(modelName.toLowerCase());
      if (!model) throw new DeploymentFailedError(`Could not find model "${modelName}" for production variant ${variant.VariantName}.`);
      const plans = plan(model, ctx.images);
      const multi = plans.some((p) => p.multiModel);
      if (multi && plans.length > 1) {
        throw new DeploymentFailedError(
          `Model ${modelName} of production variant ${variant.VariantName} has ${plans.length} containers with Mode MultiModel; multi-model endpoints do not support serial inference pipelines.`,
        );
      }
      let budget: { bytes: number; source: string } | undefined;
      if (multi) {
        try {
          budget = resolveMemoryBudget({
            environments: plans.map((p) => p.environment),
            optionBytes: ctx.multiModel.memoryBudgetBytes,
            processEnv: process.env,
            instanceType: variant.InstanceType as string | undefined,
          });
        } catch (error) {
          if (error instanceof MemoryBudgetError) throw new DeploymentFailedError(error.message);
          throw error;
        }
      }
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
      for (const [i, p] of plans.entries()) if (p.data) pinned.push(dirs[i]!);
      const count = Number(variant.InitialInstanceCount ?? 1);
      const instances: RunningInstance[] = [];
      const healthMs = ctx.healthCheckTimeoutMs(variant.ContainerStartupHealthCheckTimeoutInSeconds as number | undefined);
      const waits: Promise<void>[] = [];
      for (let n = 0; n < count; n++) {
        const containers: RunningContainer[] = [];
        for (const [i, p] of plans.entries()) {
          const environment = { ...p.environment, ...options.environment };
          if (p.multiModel && budget && p.target.kind === 'builtin') {
            // The built-in container answers 507 past the budget, and returns freed memory to the system at once
            // (a fixed mmap threshold), so that unloading a model shows in its resident memory.
            environment.SMHOST_CONTAINER_MEMORY_LIMIT_BYTES = String(budget.bytes);
            environment.MALLOC_MMAP_THRESHOLD_ ??= '131072';
          }
          const launch: ContainerLaunch = {
            label: `${endpointName}/${variant.VariantName}/${p.hostname}`,
            target: p.target,
            modelDir: dirs[i]!,
            environment,
            multiModel: p.multiModel,
            logFile: join(ctx.logsDir, options.logFolder ?? endpointName, `${variant.VariantName}-i${n + 1}-${p.hostname}.log`),
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
      if (multi && budget) {
        const p = plans[0]!;
        if (!p.prefix) throw new DeploymentFailedError(`Model ${modelName}: a container with Mode MultiModel needs ModelDataUrl, the S3 prefix of its models.`);
        instances.forEach((instance, n) => {
          instance.models = new MultiModelHost({
            endpointName,
            variantName: String(variant.VariantName),
            instance: n + 1,
            prefix: p.prefix!,
            container: instance.containers[0]!,
            modelData: ctx.modelData,
            budget: budget!,
            cacheEnabled: p.cacheEnabled,
            loadWaitMs: ctx.multiModel.loadWaitMs,
            loadTimeoutMs: ctx.multiModel.loadTimeoutMs,
            measure: ctx.multiModel.measure ?? residentBytes,
            log: (line) => ctx.multiModel.log(endpointName, line),
            logStreamArn: ctx.multiModel.logStreamArn(endpointName),
          });
        });
      }
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
    const deployment: Deployment = {
      configName: String(config.EndpointConfigName),
      variants,
      startedAt: Date.now(),
      release,
      replacements: new Set(),
      cancel: new AbortController(),
    };
    for (const variant of variants) for (const instance of variant.instances) for (const c of instance.containers) superviseContainer(deployment, c, ctx);
    return deployment;
  } catch (error) {
    await stopContainers(started);
    release();
    if (error instanceof DeploymentFailedError) throw error;
    if (error instanceof ContainerStartError || error instanceof ModelDataError) throw new DeploymentFailedError(error.reason);
    throw new DeploymentFailedError(`Endpoint ${endpointName} could not be brought up: ${(error as Error).message}`);
  }
}
