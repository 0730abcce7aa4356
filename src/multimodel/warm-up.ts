/**
 * Warm-up of a version before it becomes current (DESIGN.md §6): ask the endpoint to load and run it
 * once, so a model that cannot load is caught here instead of by the first real request, and the
 * first real request does not pay the load time.
 *
 * Outcomes:
 * - endpoint absent, or not `InService`: `unverified` with the reason (it can become current: the
 *   endpoint will load it on first use once it is up);
 * - no sample payload beside the artifact: `unverified`, nothing invoked. An invocation needs a
 *   request the model accepts; inventing one would turn a model's ordinary "bad input" answer into
 *   a false `ModelError` and block a good version. Given `loadSample`, the sample is read only once
 *   the endpoint is in service;
 * - `InvokeEndpoint` answers: `verified`;
 * - `ModelNotReadyException` (an MME still downloading or loading the model): retried with a growing
 *   delay up to `maxAttempts`; still loading after that is `unverified` (the load was started);
 * - `ModelError` (the container answered an error): `model-error`, the version is not made current;
 * - any other refusal by SageMaker (e.g. `ValidationError`: not a multi-model endpoint): `unverified`
 *   with SageMaker's message, since it says nothing against the model itself;
 * - transient failures (throttling, 5xx, network) are thrown, so the queue retries the message.
 */
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { errorName, hasErrorName, isTransientError } from '../aws/errors';
import type { WarmUpSettings } from './config';

export type WarmUpResult =
  | { kind: 'verified'; attempts: number }
  | { kind: 'unverified'; reason: string; attempts: number }
  | { kind: 'model-error'; reason: string; attempts: number };

export interface SamplePayload {
  body: Uint8Array;
  contentType: string;
  /** Where the payload came from, for messages. */
  source: string;
}

/** A sample payload, or why there is none to use. */
export type SampleLookup = { sample: SamplePayload } | { sample?: undefined; reason: string };

export interface WarmUpRequest {
  endpoint: string;
  targetModel: string;
  sample?: SamplePayload;
  /** Why no sample was used, when there is none (e.g. "no incoming/e/m.sample.json"). */
  noSampleReason?: string;
  /**
   * Reads the sample only once the endpoint is known to be in service (used when `sample` is absent):
   * an absent endpoint is the common case during a burst of drops, and it needs no sample at all.
   */
  loadSample?: () => Promise<SampleLookup>;
}

export interface WarmUpDeps {
  sagemaker: SageMakerClient;
  sagemakerRuntime: SageMakerRuntimeClient;
  settings: WarmUpSettings;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function messageOf(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  const shape = error as { Message?: string };
  return shape?.Message ?? String(error);
}

function modelErrorReason(error: unknown): string {
  const shape = error as { OriginalStatusCode?: number; OriginalMessage?: string };
  const status = shape.OriginalStatusCode !== undefined ? ` (container status ${shape.OriginalStatusCode})` : '';
  const original = shape.OriginalMessage ? `: ${shape.OriginalMessage}` : `: ${messageOf(error)}`;
  return `ModelError${status}${original}`;
}

/** Delay before attempt `attempt` (2, 3, ...): doubling from the initial delay, capped. */
export function warmUpDelay(attempt: number, settings: WarmUpSettings): number {
  return Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.max(0, attempt - 2));
}

/**
 * Warms up `targetModel` on `endpoint`. See the module comment for the outcomes.
 *
 * @throws the SDK's error when it is transient (`isTransientError`), for the queue to retry.
 */
export async function warmUp(deps: WarmUpDeps, request: WarmUpRequest): Promise<WarmUpResult> {
  const sleep = deps.sleep ?? defaultSleep;
  let status: string | undefined;
  try {
    const described = await deps.sagemaker.send(new DescribeEndpointCommand({ EndpointName: request.endpoint }));
    status = described.EndpointStatus;
  } catch (error) {
    if (isTransientError(error)) throw error;
    // SageMaker answers ValidationException "Could not find endpoint" for a missing endpoint.
    return {
      kind: 'unverified',
      reason: `endpoint "${request.endpoint}" was not found (${errorName(error) ?? 'error'}: ${messageOf(error)}); not warmed up`,
      attempts: 0,
    };
  }
  if (status !== 'InService') {
    return {
      kind: 'unverified',
      reason: `endpoint "${request.endpoint}" is ${status ?? 'of unknown status'}, not InService; not warmed up`,
      attempts: 0,
    };
  }
  let sample = request.sample;
  let noSampleReason = request.noSampleReason;
  if (!sample && request.loadSample) {
    const found = await request.loadSample();
    if (found.sample) sample = found.sample;
    else noSampleReason = found.reason;
  }
  if (!sample) {
    return {
      kind: 'unverified',
      reason: `${noSampleReason ?? 'no sample payload'}; not warmed up`,
      attempts: 0,
    };
  }
  const { maxAttempts } = deps.settings;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (attempt > 1) await sleep(warmUpDelay(attempt, deps.settings));
    try {
      await deps.sagemakerRuntime.send(
        new InvokeEndpointCommand({
          EndpointName: request.endpoint,
          TargetModel: request.targetModel,
          Body: sample.body,
          ContentType: sample.contentType,
          Accept: 'application/json',
        }),
      );
      return { kind: 'verified', attempts: attempt };
    } catch (error) {
      if (hasErrorName(error, 'ModelNotReadyException')) continue;
      if (hasErrorName(error, 'ModelError')) return { kind: 'model-error', reason: modelErrorReason(error), attempts: attempt };
      if (isTransientError(error)) throw error;
      return {
        kind: 'unverified',
        reason: `InvokeEndpoint refused the warm-up (${errorName(error) ?? 'error'}: ${messageOf(error)})`,
        attempts: attempt,
      };
    }
  }
  return {
    kind: 'unverified',
    reason: `model "${request.targetModel}" was still loading after ${maxAttempts} attempts (ModelNotReadyException); not verified`,
    attempts: maxAttempts,
  };
}
