/**
 * `InvokeEndpoint` (`POST /endpoints/<name>/invocations`): picks a production variant (by `TargetVariant`,
 * else at random by weight), an instance (round robin), and sends the request through the variant's
 * containers: in a serial pipeline each container's response is the next one's request, its content type
 * carried along; in `Direct` mode only the container named by `TargetContainerHostname` is called.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readBodyWithin } from '../../edge/request-body';
import type { ArnContext } from '../api/arns';
import { NAME_PATTERN } from '../api/validate';
import { ContainerTimeoutError, ContainerUnreachableError, type ContainerResponse } from '../containers/container-process';
import type { EndpointLifecycle } from '../hosting/endpoint-lifecycle';
import type { RunningContainer, RunningVariant } from '../hosting/deployment';
import { validateTargetModel } from '../multi-model/model-host';
import type { StateStore } from '../state/state-store';
import { ModelErrorError, RuntimeApiError, RuntimeValidationError, ServiceUnavailableError } from './errors';

/** SageMaker's real-time payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The runtime's paths, with the query (SDKs send none) allowed and ignored. */
const INVOCATION_PATH = /^\/endpoints\/([^/?]+)\/(invocations|async-invocations|invocations-response-stream)(?:\?.*)?$/;
/** Answers up to this size are written with their head in one write (see `respond`). */
const STRING_PAYLOAD_BYTES = 16 * 1024;

export interface RuntimeContext {
  store: StateStore;
  lifecycle: EndpointLifecycle;
  arn: ArnContext;
  logsDir: string;
  /** Real milliseconds a container has to answer one invocation (SageMaker: 60 s). */
  invocationTimeoutMs: number;
  /** Picks a number in [0, 1) for weighted routing; replaceable for tests. */
  random: () => number;
}

/** True when the request is for the runtime rather than the control plane. */
export function isRuntimeRequest(req: IncomingMessage): boolean {
  return req.method === 'POST' && INVOCATION_PATH.test(req.url ?? '');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendError(res: ServerResponse, error: RuntimeApiError): void {
  const text = JSON.stringify({ ErrorCode: error.code, message: error.message, Message: error.message, ...error.fields });
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': error.code,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function pickVariant(variants: RunningVariant[], random: () => number): RunningVariant {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total <= 0) return variants[Math.floor(random() * variants.length)]!;
  let point = random() * total;
  for (const v of variants) {
    point -= v.weight;
    if (point < 0) return v;
  }
  return variants[variants.length - 1]!;
}

function validateHeaders(req: IncomingMessage): void {
  const custom = header(req, 'x-amzn-sagemaker-custom-attributes');
  if (custom !== undefined && (custom.length > 1024 || !/^[\x20-\x7e]*$/.test(custom))) {
    throw new RuntimeValidationError('CustomAttributes must be at most 1024 visible US-ASCII characters.');
  }
  const inferenceId = header(req, 'x-amzn-sagemaker-inference-id');
  if (inferenceId !== undefined && (inferenceId.length < 1 || inferenceId.length > 64 || !/^\S[\x20-\x7e]*$/.test(inferenceId))) {
    throw new RuntimeValidationError('InferenceId must be 1 to 64 printable characters and must not start with whitespace.');
  }
  for (const [name, label] of [
    ['x-amzn-sagemaker-target-variant', 'TargetVariant'],
    ['x-amzn-sagemaker-target-container-hostname', 'TargetContainerHostname'],
  ] as const) {
    const value = header(req, name);
    if (value !== undefined && !NAME_PATTERN.test(value)) {
      throw new RuntimeValidationError(`${label} ${JSON.stringify(value)} must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.`);
    }
  }
}

/** Handles one runtime request end to end, answering success or a SageMaker runtime error. */
export async function handleInvocation(req: IncomingMessage, res: ServerResponse, ctx: RuntimeContext): Promise<void> {
  try {
    await invoke(req, res, ctx);
  } catch (error) {
    if (error instanceof RuntimeApiError) return sendError(res, error);
    sendError(res, new RuntimeApiError('InternalFailure', 500, `The emulator failed to serve the request: ${(error as Error).message}`));
  }
}

async function invoke(req: IncomingMessage, res: ServerResponse, ctx: RuntimeContext): Promise<void> {
  const match = INVOCATION_PATH.exec(req.url ?? '')!;
  const endpointName = decodeURIComponent(match[1]!);
  if (match[2] !== 'invocations') {
    req.resume();
    throw new RuntimeApiError('NotImplemented', 501, `${match[2]} is not served by the local emulator; use InvokeEndpoint (POST /endpoints/<name>/invocations).`);
  }
  const body = await readBodyWithin(req, MAX_PAYLOAD_BYTES);
  if (body === undefined) {
    throw new RuntimeValidationError(`Request payload exceeds the InvokeEndpoint limit of ${MAX_PAYLOAD_BYTES} bytes (6 MB).`, 413);
  }
  validateHeaders(req);
  const record = ctx.store.get('endpoints', endpointName);
  if (!record) throw new RuntimeValidationError(`Endpoint ${endpointName} of account ${ctx.arn.accountId} not found.`);
  const deployment = ctx.lifecycle.deployment(endpointName);
  if (!deployment) {
    if (ctx.lifecycle.isRecovering(endpointName)) {
      throw new ServiceUnavailableError(`Endpoint ${endpointName} is being restored after a restart of the local stack; retry shortly.`);
    }
    throw new RuntimeValidationError(`Endpoint ${endpointName} of account ${ctx.arn.accountId} is not in service (status ${record.EndpointStatus}).`);
  }

  const targetVariant = header(req, 'x-amzn-sagemaker-target-variant');
  let variant: RunningVariant;
  if (targetVariant !== undefined) {
    const found = deployment.variants.find((v) => v.name.toLowerCase() === targetVariant.toLowerCase());
    if (!found) throw new RuntimeValidationError(`The variant ${targetVariant} does not exist for endpoint ${endpointName}.`);
    variant = found;
  } else {
    variant = pickVariant(deployment.variants, ctx.random);
  }
  const targetModel = header(req, 'x-amzn-sagemaker-target-model');
  if (targetModel !== undefined && !variant.multiModel) {
    throw new RuntimeValidationError(`TargetModel header is only valid for multi-model endpoints; endpoint ${endpointName} is not one.`);
  }
  if (variant.multiModel && targetModel === undefined) {
    throw new RuntimeValidationError(`Endpoint ${endpointName} is a multi-model endpoint; the TargetModel header is required.`);
  }
  const instance = variant.instances[variant.next++ % variant.instances.length]!;
  const hostname = header(req, 'x-amzn-sagemaker-target-container-hostname');
  let chain: RunningContainer[];
  if (variant.mode === 'Direct') {
    if (hostname === undefined) {
      throw new RuntimeValidationError(`Endpoint ${endpointName} runs its containers in Direct mode; TargetContainerHostname is required.`);
    }
    const container = instance.containers.find((c) => c.hostname.toLowerCase() === hostname.toLowerCase());
    if (!container) {
      throw new RuntimeValidationError(
        `TargetContainerHostname ${hostname} is not a container of endpoint ${endpointName} (${instance.containers.map((c) => c.hostname).join(', ')}).`,
      );
    }
    chain = [container];
  } else {
    if (hostname !== undefined) {
      throw new RuntimeValidationError(`TargetContainerHostname is only valid for endpoints whose model runs in Direct mode; ${endpointName} runs Serial.`);
    }
    chain = instance.containers;
  }

  const shared: Record<string, string> = {};
  const custom = header(req, 'x-amzn-sagemaker-custom-attributes');
  if (custom !== undefined) shared['x-amzn-sagemaker-custom-attributes'] = custom;
  const inferenceId = header(req, 'x-amzn-sagemaker-inference-id');
  if (inferenceId !== undefined) shared['x-amzn-sagemaker-inference-id'] = inferenceId;
  const accept = header(req, 'accept');

  if (variant.multiModel) {
    validateTargetModel(targetModel!);
    if (hostname !== undefined) {
      throw new RuntimeValidationError(`TargetContainerHostname is only valid for endpoints whose model runs in Direct mode; ${endpointName} is a multi-model endpoint.`);
    }
    const headers: Record<string, string> = { ...shared, 'content-type': header(req, 'content-type') ?? 'application/octet-stream' };
    if (accept !== undefined) headers.accept = accept;
    const answer = await instance.models!.invoke(targetModel!, body, headers, ctx.invocationTimeoutMs);
    if (answer.status < 200 || answer.status > 299) throw containerError(ctx, endpointName, instance.containers[0]!.hostname, answer);
    return respond(res, answer.body, stringHeader(answer.headers['content-type']) ?? 'application/octet-stream', variant.name, stringHeader(answer.headers['x-amzn-sagemaker-custom-attributes']));
  }

  let payload = body;
  let contentType = header(req, 'content-type') ?? 'application/octet-stream';
  let customOut: string | undefined;
  for (const [i, container] of chain.entries()) {
    const last = i === chain.length - 1;
    const headers: Record<string, string> = { ...shared, 'content-type': contentType };
    // The caller's Accept is for the pipeline's answer; the containers before the last answer in their default.
    if (last && accept !== undefined) headers.accept = accept;
    let answer;
    try {
      answer = await container.process.request('POST', '/invocations', headers, payload, ctx.invocationTimeoutMs);
    } catch (error) {
      if (error instanceof ContainerTimeoutError) {
        throw new ModelErrorError(
          `Your invocation timed out while waiting for a response from container ${container.hostname}. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.`,
          { LogStreamArn: logStreamArn(ctx, endpointName) },
        );
      }
      if (error instanceof ContainerUnreachableError) {
        throw new ServiceUnavailableError(`Container ${container.hostname} of endpoint ${endpointName} (variant ${variant.name}) cannot be reached: ${error.message}`);
      }
      throw error;
    }
    if (answer.status < 200 || answer.status > 299) throw containerError(ctx, endpointName, container.hostname, answer);
    payload = answer.body;
    const returnedType = answer.headers['content-type'];
    if (typeof returnedType === 'string' && returnedType !== '') contentType = returnedType;
    const returnedCustom = answer.headers['x-amzn-sagemaker-custom-attributes'];
    if (typeof returnedCustom === 'string') customOut = returnedCustom;
  }

  respond(res, payload, contentType, variant.name, customOut);
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function respond(res: ServerResponse, payload: Buffer, contentType: string, variantName: string, customOut: string | undefined): void {
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': payload.length,
    'x-amzn-invoked-production-variant': variantName,
    'x-amzn-requestid': randomUUID(),
  };
  if (customOut !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = customOut;
  res.writeHead(200, headers);
  // A small payload goes as a latin1 string (byte for byte the same): Node then writes head and body as one
  // string in one write, where a Buffer would take its corked two-buffer path (a writev) per response.
  if (payload.length <= STRING_PAYLOAD_BYTES) res.end(payload.toString('latin1'), 'latin1');
  else res.end(payload);
}

/** A container's error answer as SageMaker reports it: `ModelError` with the original status and message. */
function containerError(ctx: RuntimeContext, endpointName: string, hostname: string, answer: ContainerResponse): ModelErrorError {
  const kind = answer.status >= 500 ? 'server' : 'client';
  const original = answer.body.toString('utf8');
  const log = join(ctx.logsDir, endpointName);
  return new ModelErrorError(
    `Received ${kind} error (${answer.status}) from ${hostname} with message "${original}". See the container logs in ${log} for more information.`,
    { OriginalStatusCode: answer.status, OriginalMessage: original, LogStreamArn: logStreamArn(ctx, endpointName) },
  );
}

function logStreamArn(ctx: RuntimeContext, endpointName: string): string {
  return `arn:aws:logs:${ctx.arn.region}:${ctx.arn.accountId}:log-group:/aws/sagemaker/Endpoints/${endpointName}`;
}
