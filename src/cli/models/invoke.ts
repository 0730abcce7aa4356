import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Command } from 'commander';
import { errorName, httpStatus } from '../../aws/errors';
import type { Registry } from '../../multimodel/registry';
import type { CommandHost } from '../command';
import { InvalidInputError, NotFoundError, OperationFailedError } from '../errors';
import { jsonTextSchema, mimeTypeSchema, parseEndpointAndModel, parseInput } from '../inputs';
import { renderInvoke } from '../output';
import { fileSize } from '../s3-transfer';
import { resolveTargetModel } from '../../multimodel/resolve-target-model';

/** InvokeEndpoint's payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface InvokeModelInput {
  endpoint: string;
  model: string;
  body: Uint8Array;
  contentType: string;
  accept?: string;
}

export interface InvokeModelResult {
  endpoint: string;
  model: string;
  version: string;
  targetModel: string;
  contentType?: string;
  invokedProductionVariant?: string;
  body: Uint8Array;
}

/**
 * Invokes a multi-model endpoint by model name, as `Predictor.predict(data, target_model=...)` does
 * with a literal path: the name is resolved through the registry to its current version's
 * `TargetModel` (on AWS a `TargetModel` is a literal key; there are no aliases).
 */
export async function invokeModel(
  deps: { runtime: SageMakerRuntimeClient; registry: Registry },
  input: InvokeModelInput,
): Promise<InvokeModelResult> {
  const target = await resolveTargetModel(deps.registry, { endpoint: input.endpoint, model: input.model });
  try {
    const response = await deps.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: input.endpoint,
        TargetModel: target.targetModel,
        Body: input.body,
        ContentType: input.contentType,
        ...(input.accept ? { Accept: input.accept } : {}),
      }),
    );
    return {
      endpoint: input.endpoint,
      model: input.model,
      version: target.version,
      targetModel: target.targetModel,
      ...(response.ContentType ? { contentType: response.ContentType } : {}),
      ...(response.InvokedProductionVariant ? { invokedProductionVariant: response.InvokedProductionVariant } : {}),
      body: response.Body ?? new Uint8Array(),
    };
  } catch (error) {
    throw translateInvokeError(error, input.endpoint, target.targetModel);
  }
}

function translateInvokeError(error: unknown, endpoint: string, targetModel: string): unknown {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'ModelError') {
    const e = error as { OriginalStatusCode?: number; OriginalMessage?: string; LogStreamArn?: string };
    return new OperationFailedError(`model ${targetModel} on endpoint "${endpoint}" failed: ${message}`, {
      endpoint,
      targetModel,
      ...(e.OriginalStatusCode !== undefined ? { originalStatusCode: e.OriginalStatusCode } : {}),
      ...(e.OriginalMessage ? { originalMessage: e.OriginalMessage } : {}),
      ...(e.LogStreamArn ? { logStreamArn: e.LogStreamArn } : {}),
    });
  }
  // The runtime answers an unknown endpoint with a 400 ValidationError "Endpoint ... not found."
  // (the control plane's name is ValidationException; accept both).
  if ((name === 'ValidationError' || name === 'ValidationException') && /not found/i.test(message) && /endpoint/i.test(message)) {
    return new NotFoundError(`endpoint "${endpoint}" does not exist: ${message}`, { endpoint });
  }
  if (httpStatus(error) === 404) return new NotFoundError(`endpoint "${endpoint}": ${message}`, { endpoint });
  return error;
}

/** The request body from `--body <file>` or `--data <json>` (exactly one), with its content type. */
export async function readRequestBody(options: {
  body?: string;
  data?: string;
  contentType?: string;
}): Promise<{ body: Uint8Array; contentType: string }> {
  if (options.body !== undefined && options.data !== undefined) {
    throw new InvalidInputError('--body/--data', 'give one of them, not both');
  }
  if (options.body === undefined && options.data === undefined) {
    throw new InvalidInputError('request body', "give --body <file> or --data '<json>'");
  }
  const contentType =
    options.contentType !== undefined ? parseInput(mimeTypeSchema, options.contentType, '--content-type') : undefined;
  if (options.data !== undefined) {
    parseInput(jsonTextSchema, options.data, '--data');
    return { body: Buffer.from(options.data, 'utf8'), contentType: contentType ?? 'application/json' };
  }
  const path = options.body!;
  const size = await fileSize(path, '--body');
  if (size > MAX_PAYLOAD_BYTES) {
    throw new InvalidInputError(`--body "${path}"`, `is ${size} bytes; InvokeEndpoint accepts at most 6 MB`);
  }
  return { body: await readFile(path), contentType: contentType ?? contentTypeOfFile(path) };
}

/** A content type for a body file when none is given: by extension, binary otherwise. */
export function contentTypeOfFile(path: string): string {
  switch (extname(path).toLowerCase()) {
    case '.json':
      return 'application/json';
    case '.csv':
      return 'text/csv';
    case '.txt':
      return 'text/plain';
    default:
      return 'application/octet-stream';
  }
}

/**
 * The `--json` envelope of an invocation: the body as parsed JSON when the response is JSON, as text
 * when it is UTF-8, else base64.
 */
export function invokeEnvelope(result: InvokeModelResult): Record<string, unknown> {
  const { body, ...rest } = result;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  const isText = !text.includes('\uFFFD');
  if (isText && /json/i.test(result.contentType ?? '')) {
    try {
      return { ...rest, body: JSON.parse(text) };
    } catch {
      // A JSON content type with a non-JSON body is returned as text, as received.
    }
  }
  return isText ? { ...rest, body: text } : { ...rest, bodyBase64: Buffer.from(body).toString('base64') };
}

interface InvokeOptions {
  body?: string;
  data?: string;
  contentType?: string;
  accept?: string;
  output?: string;
}

/** Writes the response body to `path` exactly as received, naming the option when the file cannot be written. */
export async function writeResponseBody(path: string, body: Uint8Array): Promise<void> {
  try {
    await writeFile(path, body);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InvalidInputError(`--output ${JSON.stringify(path)}`, `cannot be written (${code ?? (error as Error).message})`);
  }
}

/** `smhost models invoke <endpoint> <model> [--body file | --data json] [--content-type t] [--accept t]` */
export function registerInvokeCommand(models: Command, host: CommandHost): void {
  models
    .command('invoke')
    .description("invoke a multi-model endpoint with a model name, resolved to its current version's TargetModel")
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name')
    .option('--body <file>', 'request body from a file (at most 6 MB)')
    .option('--data <json>', 'request body given inline (JSON)')
    .option('--content-type <type>', 'request content type (default: by --body extension, application/json for --data)')
    .option('--accept <type>', 'response content type wanted')
    .option('--output <file>', 'write the response body to this file, byte for byte, instead of stdout')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string, opts: InvokeOptions) => {
        const names = parseEndpointAndModel(endpoint, model);
        const request = await readRequestBody(opts);
        const accept = opts.accept !== undefined ? parseInput(mimeTypeSchema, opts.accept, '--accept') : undefined;
        const ctx = context();
        const result = await invokeModel(
          { runtime: ctx.clients.sagemakerRuntime, registry: ctx.registry },
          { ...names, ...request, ...(accept ? { accept } : {}) },
        );
        output.log(`invoked ${result.targetModel} on ${result.endpoint} (${result.invokedProductionVariant ?? '?'})`);
        if (opts.output !== undefined) {
          await writeResponseBody(opts.output, result.body);
          const { body, ...described } = result;
          output.log(`wrote ${body.length} bytes to ${opts.output}`);
          output.result({ ...described, outputFile: opts.output, bytes: body.length }, '');
        } else if (output.json) output.result(invokeEnvelope(result), '');
        else renderInvoke(output, result);
      }),
    );
}

