/**
 * Endpoint status progression, as SageMaker shows it: `Creating` → `InService` or `Failed`; `Updating` →
 * `InService` on the new configuration, or (the new one having failed) `RollingBack` → `InService` on the
 * old one with the reason in `FailureReason`; `Deleting` → gone, with every process stopped.
 * The running processes live here, the records in the state store.
 */
import { scaledMs } from '../../time-scale';
import { abortableDelay } from './abortable-delay';
import type { ResourceRecord, StateStore } from '../state/state-store';
import { nowSeconds } from '../state/state-store';
import {
  bringUpDeployment,
  DeploymentFailedError,
  stopDeployment,
  type Deployment,
  type DeploymentContext,
} from './deployment';

export interface LifecycleOptions {
  /** AWS seconds an instance takes to be provisioned before containers start (scaled by `timeScale`). */
  provisioningSeconds: number;
  timeScale: number;
}

interface Transition {
  controller: AbortController;
  done: Promise<void>;
}

/** Variants as `DescribeEndpoint` lists them once the deployment serves. */
function variantSummaries(deployment: Deployment): ResourceRecord[] {
  const at = deployment.startedAt / 1000;
  return deployment.variants.map((v) => ({
    VariantName: v.name,
    DeployedImages: v.images.map((image) => ({ SpecifiedImage: image, ResolvedImage: image, ResolutionTime: at })),
    CurrentWeight: v.weight,
    DesiredWeight: v.weight,
    CurrentInstanceCount: v.instances.length,
    DesiredInstanceCount: v.instances.length,
  }));
}

export class EndpointLifecycle {
  private readonly live = new Map<string, Deployment>();
  private readonly transitions = new Map<string, Transition>();
  /** Endpoints being brought back after a restart: they answer `ServiceUnavailable` meanwhile. */
  private readonly recovering = new Set<string>();
  /** Deployments replaced by an update, serving the requests already routed to them for a moment more. */
  private readonly retiring = new Set<Deployment>();
  private closing = false;
  /** What bring-ups need; transform jobs bring up their containers with it too. */
  readonly ctx: DeploymentContext;

  constructor(
    private readonly store: StateStore,
    ctx: DeploymentContext,
    private readonly options: LifecycleOptions,
  ) {
    // Every deployment, endpoint or transform job, learns through this that no crashed container is replaced any more.
    this.ctx = { ...ctx, closing: () => this.closing || (ctx.closing?.() ?? false) };
  }

  /** The deployment serving `endpointName`, if any. */
  deployment(endpointName: string): Deployment | undefined {
    return this.live.get(endpointName.toLowerCase());
  }

  isRecovering(endpointName: string): boolean {
    return this.recovering.has(endpointName.toLowerCase());
  }

  /** Waits for the endpoint's current transition (create, update, delete) to finish; for tests and shutdown. */
  async settled(endpointName: string): Promise<void> {
    await this.transitions.get(endpointName.toLowerCase())?.done;
  }

  /**
   * The models a configuration names, as they are now (SageMaker reads them when the deployment starts),
   * with containers given as `ModelPackageName` replaced by the package's own containers.
   */
  modelsOf(config: ResourceRecord): Map<string, ResourceRecord> {
    const models = new Map<string, ResourceRecord>();
    for (const variant of config.ProductionVariants as ResourceRecord[]) {
      const stored = this.store.get('models', String(variant.ModelName));
      if (!stored) continue;
      const model = structuredClone(stored);
      const expand = (containers: ResourceRecord[]) => containers.flatMap((c) => this.fromPackage(c));
      if (Array.isArray(model.Containers)) model.Containers = expand(model.Containers as ResourceRecord[]);
      else if (model.PrimaryContainer) {
        const expanded = expand([model.PrimaryContainer as ResourceRecord]);
        if (expanded.length === 1) model.PrimaryContainer = expanded[0];
        else {
          delete model.PrimaryContainer;
          model.Containers = expanded;
        }
      }
      models.set(String(variant.ModelName).toLowerCase(), model);
    }
    return models;
  }

  private fromPackage(container: ResourceRecord): ResourceRecord[] {
    if (typeof container.ModelPackageName !== 'string' || typeof container.Image === 'string') return [container];
    const key = container.ModelPackageName.replace(/^arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:model-package\//, '');
    const pkg = this.store.get('modelPackages', key);
    const specContainers = ((pkg?.InferenceSpecification as ResourceRecord | undefined)?.Containers as ResourceRecord[] | undefined) ?? [];
    if (specContainers.length === 0) {
      throw new DeploymentFailedError(`Model package ${container.ModelPackageName} does not exist or has no InferenceSpecification containers.`);
    }
    return specContainers.map((spec, i) => ({
      ...spec,
      ...(specContainers.length === 1 && container.ContainerHostname ? { ContainerHostname: container.ContainerHostname } : {}),
      Environment: { ...((spec.Environment as Record<string, string>) ?? {}), ...((container.Environment as Record<string, string>) ?? {}) },
      Mode: container.Mode ?? 'SingleModel',
      ...(i === 0 && container.ModelDataUrl ? { ModelDataUrl: container.ModelDataUrl } : {}),
    }));
  }

  private run(endpointName: string, work: (signal: AbortSignal) => Promise<void>): void {
    const key = endpointName.toLowerCase();
    const controller = new AbortController();
    // Work asked for while closing is cancelled from the start: nothing may start once close() began.
    if (this.closing) controller.abort();
    const done = work(controller.signal)
      .catch((error: unknown) => {
        // The work functions record their own failures; this only keeps a bug from becoming an unhandled rejection.
        console.error(`sagemaker emulator: endpoint ${endpointName}: ${(error as Error).message}`);
      })
      .finally(() => {
        if (this.transitions.get(key)?.controller === controller) this.transitions.delete(key);
      });
    this.transitions.set(key, { controller, done });
  }

  /**
   * Brings `config` up (after the instances' provisioning time unless `provisioning` is false), or gives
   * `undefined` when the transition was cancelled meanwhile: whatever came up is stopped again.
   */
  private async bringUp(endpointName: string, config: ResourceRecord, signal: AbortSignal, provisioning = true): Promise<Deployment | undefined> {
    if (provisioning) {
      await abortableDelay(scaledMs(this.options.provisioningSeconds, this.options.timeScale), signal, () => new DeploymentFailedError('cancelled'));
    }
    const deployment = await bringUpDeployment(endpointName, config, this.modelsOf(config), this.ctx, signal);
    if (!signal.aborted) return deployment;
    await stopDeployment(deployment);
    return undefined;
  }

  /** Starts creating an endpoint whose record (status `Creating`) is already stored. */
  create(endpointName: string, config: ResourceRecord): void {
    this.run(endpointName, async (signal) => {
      try {
        const deployment = await this.bringUp(endpointName, config, signal);
        if (!deployment) return;
        this.live.set(endpointName.toLowerCase(), deployment);
        this.store.update('endpoints', endpointName, {
          EndpointStatus: 'InService',
          FailureReason: undefined,
          ProductionVariants: variantSummaries(deployment),
          LastModifiedTime: nowSeconds(),
        });
      } catch (error) {
        if (signal.aborted) return;
        this.store.update('endpoints', endpointName, {
          EndpointStatus: 'Failed',
          FailureReason: (error as DeploymentFailedError).reason ?? (error as Error).message,
          LastModifiedTime: nowSeconds(),
        });
      }
    });
  }

  /** Starts an update to `config`; the old deployment keeps serving until the new one is healthy. */
  update(endpointName: string, config: ResourceRecord): void {
    this.run(endpointName, async (signal) => {
      try {
        const deployment = await this.bringUp(endpointName, config, signal);
        if (!deployment) return;
        const key = endpointName.toLowerCase();
        const old = this.live.get(key);
        this.live.set(key, deployment);
        this.store.update('endpoints', endpointName, {
          EndpointStatus: 'InService',
          EndpointConfigName: config.EndpointConfigName,
          FailureReason: undefined,
          ProductionVariants: variantSummaries(deployment),
          PendingDeploymentSummary: undefined,
          LastModifiedTime: nowSeconds(),
        });
        // Requests already routed to the old containers finish before those stop.
        if (old) {
          this.retiring.add(old);
          setTimeout(() => {
            if (this.retiring.delete(old)) void stopDeployment(old);
          }, 200);
        }
      } catch (error) {
        if (signal.aborted) return;
        const reason = (error as DeploymentFailedError).reason ?? (error as Error).message;
        this.store.update('endpoints', endpointName, { EndpointStatus: 'RollingBack', LastModifiedTime: nowSeconds() });
        this.store.update('endpoints', endpointName, {
          EndpointStatus: 'InService',
          FailureReason: `Update to endpoint configuration ${config.EndpointConfigName} failed and was rolled back: ${reason}`,
          PendingDeploymentSummary: undefined,
          LastModifiedTime: nowSeconds(),
        });
      }
    });
  }

  /** Stops whatever the endpoint runs or is starting, then calls `removed` (which drops the record). */
  delete(endpointName: string, removed: () => void): void {
    const key = endpointName.toLowerCase();
    const pending = this.transitions.get(key);
    pending?.controller.abort();
    this.run(endpointName, async () => {
      await pending?.done;
      const deployment = this.live.get(key);
      this.live.delete(key);
      this.recovering.delete(key);
      if (deployment) await stopDeployment(deployment);
      removed();
    });
  }

  /**
   * Brings endpoints back after a restart of the emulator, from the records: in-service endpoints restart
   * their current configuration (answering `ServiceUnavailable` until ready), interrupted creations start
   * over, interrupted updates stay on the old configuration, interrupted deletions complete.
   */
  recover(): void {
    for (const record of this.store.list('endpoints')) {
      const name = String(record.EndpointName);
      const status = record.EndpointStatus;
      if (status === 'Deleting') {
        this.store.delete('endpoints', name);
        continue;
      }
      if (status === 'Failed') continue;
      const config = this.store.get('endpointConfigs', String(record.EndpointConfigName));
      if (!config) {
        this.store.update('endpoints', name, {
          EndpointStatus: 'Failed',
          FailureReason: `Endpoint configuration ${record.EndpointConfigName} no longer exists, so the endpoint could not be restored after a restart.`,
        });
        continue;
      }
      if (status === 'Creating') {
        this.create(name, config);
        continue;
      }
      if (status === 'Updating' || status === 'RollingBack') {
        this.store.update('endpoints', name, {
          EndpointStatus: 'InService',
          FailureReason: 'The update was interrupted by a restart of the local stack; the endpoint stays on its previous configuration.',
          PendingDeploymentSummary: undefined,
        });
      }
      const key = name.toLowerCase();
      this.recovering.add(key);
      this.run(name, async (signal) => {
        try {
          // Straight to the containers: the instances of an endpoint in service are provisioned already.
          const deployment = await this.bringUp(name, config, signal, false);
          if (!deployment) return;
          this.live.set(key, deployment);
        } catch (error) {
          if (signal.aborted) return;
          this.store.update('endpoints', name, {
            EndpointStatus: 'Failed',
            FailureReason: `Restoring the endpoint after a restart failed: ${(error as DeploymentFailedError).reason ?? (error as Error).message}`,
            LastModifiedTime: nowSeconds(),
          });
        } finally {
          this.recovering.delete(key);
        }
      });
    }
  }

  /** Cancels every transition and stops every process (the records stay, for the next start). */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.transitions.values()) t.controller.abort();
    await Promise.all([...this.transitions.values()].map((t) => t.done));
    const deployments = [...this.live.values(), ...this.retiring];
    this.live.clear();
    this.retiring.clear();
    await Promise.all(deployments.map(stopDeployment));
  }
}
