import type { EndpointLifecycle } from '../hosting/endpoint-lifecycle';
import type { ResourceRecord, StateStore } from '../state/state-store';
import type { ArnContext } from './arns';

/** Local quotas, the emulator's stand-ins for account service quotas (`ResourceLimitExceeded`). */
export interface ApiLimits {
  /** Instances per production variant; each instance runs real processes. */
  maxInstancesPerVariant: number;
  /** Endpoints in existence at once. */
  maxEndpoints: number;
}

/** Runs a recorded transform job; reports progress through `update` (status, failure reason, end time). */
export type TransformRunner = (job: ResourceRecord, signal: AbortSignal, update: (fields: ResourceRecord) => void) => Promise<void>;

/** What every operation handler gets. */
export interface ApiContext {
  store: StateStore;
  arn: ArnContext;
  lifecycle: EndpointLifecycle;
  limits: ApiLimits;
  /** Jobs running now, by ARN: the controller stops one, `done` settles once its containers are stopped. */
  transforms: { runner?: TransformRunner; running: Map<string, { controller: AbortController; done: Promise<void> }> };
}

export type Operation = (input: Record<string, unknown>, ctx: ApiContext) => unknown;
