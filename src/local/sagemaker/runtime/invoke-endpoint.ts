/**
 * `InvokeEndpoint` (`POST /endpoints/<name>/invocations`): picks a production variant (by `TargetVariant`,
 * else at random by weight), an instance (round robin), and sends the request through the variant's
 * containers: in a serial pipeline each container's response is the next one's request, its content type
 * carried along; in `Direct` mode only the container named by `TargetContainerHostname` is called.
 *
 * The runtime takes a request already read whole and gives back the answer, so that it can be served on
 * plain sockets (`http1/split-server.ts`, the emulator's and the edge's fast path) as well as through a
 * Node `http` server (`handleInvocation`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readBodyWithin } from '../../edge/request-body';
import type { RequestHead } from '../../http1/request-parser';
import type { Http1Answer, Http1Request } from '../../http1/socket-server';
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

/** True when a request with this method and target (path and query) is for the runtime rather than the control plane. */
export function isRuntimeRequest(head: Pick<RequestHead, 'method' | 'target'>): boolean {
  return head.method === 'POST' && INVOCATION_PATH.test(head.target);
}

function errorAnswer(error: RuntimeApiError): Http1Answer {
  return {
    status: error.status,
    body: JSON.stringify({ ErrorCode: error.code, message: error.message, Message: error.message, ...error.fields }),
    contentType: 'application/json',
    headers: { 'x-amzn-errortype': error.code, 'x-amzn-requestid': randomUUID() },
  };
}

/** The answer to a request whose payload was over the limit (and was read and dropped). */
export function payloadTooLarge(): Http1Answer {
  return errorAnswer(new RuntimeValidationError(`Request payload exceeds the InvokeEndpoint limit of ${MAX_PAYLOAD_BYTES} bytes (6 MB).`, 413));
}

/**
 * Serves one runtime request read whole (`path` one {@link isRuntimeRequest} took, headers lower-cased),
 * answering success or a SageMaker runtime error. Never rejects.
 */
export async function serveInvocation(request: Http1Request, ctx: RuntimeContext): Promise<Http1Answer> {
  try {
    return await invoke(request, ctx);
  } catch (error) {
    if (error instanceof RuntimeApiError) return errorAnswer(error);
    return errorAnswer(new RuntimeApiError('InternalFailure', 500, `The emulator failed to serve the request: ${(error as Error).message}`));
  }
}

/** {@link serveInvocation} for a request that came through Node's `http` server. */
export async function handleInvocation(req: IncomingMessage, res: ServerResponse, ctx: RuntimeContext): Promise<void> {
  const body = await readBodyWithin(req, MAX_PAYLOAD_BYTES);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value[0]! : value;
  const target = req.url ?? '/';
  const mark = target.indexOf('?');
  const answer =
    body === undefined
      ? payloadTooLarge()
      : await serveInvocation({ method: req.method ?? 'POST', path: mark < 0 ? target : target.slice(0, mark), query: mark < 0 ? '' : target.slice(mark + 1), headers, body }, ctx);
  res.writeHead(answer.status, { ...answer.headers, 'content-type': answer.contentType!, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

function decodedName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new RuntimeValidationError(`The endpoint name in the path, ${JSON.stringify(encoded)}, is not valid percent-encoding.`);
  }
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

function validateHeaders(headers: Record<string, string>): void {
  const custom = headers['x-amzn-sagemaker-custom-attributes'];
  if (custom !== undefined && (custom.length > 1024 || !/^[\x20-\x7e]*$/.test(custom))) {
    throw new RuntimeValidationError('CustomAttributes must be at most 1024 visible US-ASCII characters.');
  }
  const inferenceId = headers['x-amzn-sagemaker-inference-id'];
  if (inferenceId !== undefined && (inferenceId.length < 1 || inferenceId.length > 64 || !/^\S[\x20-\x7e]*$/.test(inferenceId))) {
    throw new RuntimeValidationError('InferenceId must be 1 to 64 printable characters and must not start with whitespace.');
  }
  for (const [name, label] of [
    ['x-amzn-sagemaker-target-variant', 'TargetVariant'],
    ['x-amzn-sagemaker-target-container-hostname', 'TargetContainerHostname'],
  ] as const) {
    const value = headers[name];
    if (value !== undefined && !NAME_PATTERN.test(value)) {
      throw new RuntimeValidationError(`${label} ${JSON.stringify(value)} must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.`);
    }
  }
}

async function invoke(request: Http1Request, ctx: RuntimeContext): Promise<Http1Answer> {
  const match = INVOCATION_PATH.exec(request.path)!;
  const endpointName = decodedName(match[1]!);
  if (match[2] !== 'invocations') {
    throw new RuntimeApiError('NotImplemented', 501, `${match[2]} is not served by the local emulator; use InvokeEndpoint (POST /endpoints/<name>/invocations).`);
  }
  const { headers: given, body } = request;
  validateHeaders(given);
  const record = ctx.store.get('endpoints', endpointName);
  if (!record) throw new RuntimeValidationError(`Endpoint ${endpointName} of account ${ctx.arn.accountId} not found.`);
  const deployment = ctx.lifecycle.deployment(endpointName);
  if (!deployment) {
    if (ctx.lifecycle.isRecovering(endpointName)) {
      throw new ServiceUnavailableError(`Endpoint ${endpointName} is being restored after a restart of the local stack; retry shortly.`);
    }
    throw new RuntimeValidationError(`Endpoint ${endpointName} of account ${ctx.arn.accountId} is not in service (status ${record.EndpointStatus}).`);
  }

  const targetVariant = given['x-amzn-sagemaker-target-variant'];
  let variant: RunningVariant;
  if (targetVariant !== undefined) {
    const found = deployment.variants.find((v) => v.name.toLowerCase() === targetVariant.toLowerCase());
    if (!found) throw new RuntimeValidationError(`The variant ${targetVariant} does not exist for endpoint ${endpointName}.`);
    variant = found;
  } else {
    variant = pickVariant(deployment.variants, ctx.random);
  }
  const targetModel = given['x-amzn-sagemaker-target-model'];
  if (targetModel !== undefined && !variant.multiModel) {
    throw new RuntimeValidationError(`TargetModel header is only valid for multi-model endpoints; endpoint ${endpointName} is not one.`);
  }
  if (variant.multiModel && targetModel === undefined) {
    throw new RuntimeValidationError(`Endpoint ${endpointName} is a multi-model endpoint; the TargetModel header is required.`);
  }
  const instance = variant.instances[variant.next++ % variant.instances.length]!;
  const hostname = given['x-amzn-sagemaker-target-container-hostname'];
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
  const custom = given['x-amzn-sagemaker-custom-attributes'];
  if (custom !== undefined) shared['x-amzn-sagemaker-custom-attributes'] = custom;
  const inferenceId = given['x-amzn-sagemaker-inference-id'];
  if (inferenceId !== undefined) shared['x-amzn-sagemaker-inference-id'] = inferenceId;
  const accept = given.accept;

  if (variant.multiModel) {
    validateTargetModel(targetModel!);
    if (hostname !== undefined) {
      throw new RuntimeValidationError(`TargetContainerHostname is only valid for endpoints whose model runs in Direct mode; ${endpointName} is a multi-model endpoint.`);
    }
    const headers: Record<string, string> = { ...shared, 'content-type': given['content-type'] ?? 'application/octet-stream' };
    if (accept !== undefined) headers.accept = accept;
    const answer = await instance.models!.invoke(targetModel!, body, headers, ctx.invocationTimeoutMs);
    if (answer.status < 200 || answer.status > 299) throw containerError(ctx, endpointName, instance.containers[0]!.hostname, answer);
    return success(answer.body, stringHeader(answer.headers['content-type']) ?? 'application/octet-stream', variant.name, stringHeader(answer.headers['x-amzn-sagemaker-custom-attributes']));
  }

  let payload = body;
  let contentType = given['content-type'] ?? 'application/octet-stream';
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

  return success(payload, contentType, variant.name, customOut);
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function success(payload: Buffer, contentType: string, variantName: string, customOut: string | undefined): Http1Answer {
  const headers: Record<string, string> = { 'x-amzn-invoked-production-variant': variantName, 'x-amzn-requestid': randomUUID() };
  if (customOut !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = customOut;
  return { status: 200, body: payload, contentType, headers };
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
