import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { functionEnvironment, type LocalFunctionOptions } from '../../../src/local/lambda/function-environment';
import { FunctionClosedError, FunctionError, FunctionInitError, FunctionTimeoutError, HandlerNotFoundError } from '../../../src/local/lambda/function-errors';
import { DEFAULT_FUNCTION_CONCURRENCY, functionConcurrency, hostConcurrencyLimit, InvalidMaxEnvironmentsError, lambdaServiceFor } from '../../../src/local/lambda/lambda-service';
import { InvalidConcurrencyError, WorkerFunction } from '../../../src/local/lambda/worker-function';
import type { FunctionSpec, SqsEventSpec } from '../../../src/local/serverless/stack-config';

const SERVICE_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));
const OPTIONS: LocalFunctionOptions = { serviceDir: SERVICE_DIR, region: 'eu-west-1', accountId: '123456789012', endpointUrl: 'http://127.0.0.1:9' };

function spec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return { key: name, name, handler: 'runtime-handlers.run', environment: {}, timeoutSeconds: 5, memorySize: 128, sqsEvents: [], ...overrides };
}

const opened: WorkerFunction[] = [];
function open(fnSpec: FunctionSpec, maxConcurrency = 1, options: LocalFunctionOptions = OPTIONS): WorkerFunction {
  const fn = new WorkerFunction(fnSpec, options, maxConcurrency);
  opened.push(fn);
  return fn;
}

async function failure(promise: Promise<unknown>): Promise<FunctionError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof FunctionError)) throw new Error(`expected a FunctionError, got ${String(error)}`);
  return error;
}

// One function serves most tests: each warm start saves a cold one on a loaded machine.
const alpha = open(spec('alpha', { environment: { SHARED: 'alpha', ONLY_ALPHA: 'yes', AWS_ENDPOINT_URL: 'http://elsewhere:1' } }));
const beta = open(spec('beta', { environment: { SHARED: 'beta' }, timeoutSeconds: 1, memorySize: 64 }));

afterEach(() => {
  delete process.env.SHARED;
});

afterAll(async () => {
  await Promise.all(opened.map((fn) => fn.close()));
});

describe('Function: WorkerFunction', () => {
  it('gives each function its own environment, module state and globals, and leaves the host process.env alone', async () => {
    // Prepare
    process.env.SHARED = 'host';
    const names = ['SHARED', 'ONLY_ALPHA', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '_HANDLER', 'LAMBDA_TASK_ROOT'];

    // Act
    const alphaEnv = await alpha.invoke({ action: 'env', names });
    const betaEnv = await beta.invoke({ action: 'env', names });
    await alpha.invoke({ action: 'remember', value: 'kept by alpha' });
    const alphaRecall = (await alpha.invoke({ action: 'recall' })) as { remembered: unknown };
    const betaRecall = (await beta.invoke({ action: 'recall' })) as { remembered: unknown };

    // Assess
    expect(alphaEnv).toEqual({
      SHARED: 'alpha',
      ONLY_ALPHA: 'yes',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'alpha',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      _HANDLER: 'runtime-handlers.run',
      LAMBDA_TASK_ROOT: SERVICE_DIR,
    });
    expect(betaEnv).toMatchObject({ SHARED: 'beta', ONLY_ALPHA: null, AWS_LAMBDA_FUNCTION_NAME: 'beta', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '64' });
    expect(alphaRecall.remembered).toBe('kept by alpha');
    expect(betaRecall.remembered).toBeNull();
    expect(process.env.SHARED).toBe('host');
    expect(process.env.ONLY_ALPHA).toBeUndefined();
  });

  it("passes the Lambda context: names, ARN, memory, a request id per invocation and the time left", async () => {
    // Act
    const first = (await alpha.invoke({ action: 'context' })) as Record<string, unknown>;
    const second = (await alpha.invoke({ action: 'context' })) as Record<string, unknown>;

    // Assess
    expect(first).toMatchObject({
      functionName: 'alpha',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:alpha',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/alpha',
    });
    expect(first.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second.awsRequestId).not.toBe(first.awsRequestId);
    expect(first.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(second.logStreamName).toBe(first.logStreamName);
    expect(first.remainingMs).toBeGreaterThan(0);
    expect(first.remainingMs).toBeLessThanOrEqual(5000);
  });

  it('reuses the warm environment and passes events and results as JSON', async () => {
    // Act
    const before = (await alpha.invoke({ action: 'count' })) as { environmentId: string; invocations: number };
    const echoed = await alpha.invoke({ action: 'echo', value: new Date('2024-01-02T03:04:05.000Z') });
    const after = (await alpha.invoke({ action: 'count' })) as { environmentId: string; invocations: number };
    const nothing = await alpha.invoke({ action: 'nothing' });

    // Assess
    expect(after.environmentId).toBe(before.environmentId);
    expect(after.invocations).toBe(before.invocations + 2);
    expect(echoed).toEqual({ value: '2024-01-02T03:04:05.000Z', type: 'string' });
    expect(nothing).toBeUndefined();
    expect(alpha.coldStarts).toBe(1);
  });

  it("reports a handler's error as Lambda does (errorType, errorMessage, trace) and keeps the environment warm", async () => {
    // Prepare
    const before = (await alpha.invoke({ action: 'count' })) as { environmentId: string };

    // Act
    const thrown = await failure(alpha.invoke({ action: 'throw', message: 'model m1 is not an archive' }));
    const thrownString = await failure(alpha.invoke({ action: 'throw-string', message: 'plain text' }));
    const after = (await alpha.invoke({ action: 'count' })) as { environmentId: string };

    // Assess
    expect(thrown.toJSON()).toMatchObject({ errorType: 'ModelRejectedError', errorMessage: 'model m1 is not an archive' });
    expect(thrown.name).toBe('ModelRejectedError');
    expect(thrown.trace[0]).toBe('ModelRejectedError: model m1 is not an archive');
    expect(thrown.trace.some((line) => line.includes('runtime-handlers.ts'))).toBe(true);
    expect(thrownString.toJSON()).toEqual({ errorType: 'string', errorMessage: 'plain text', trace: [] });
    expect(after.environmentId).toBe(before.environmentId);
  });

  it('times out a handler that blocks its thread with Sandbox.Timedout, while the host keeps running, then cold-starts', async () => {
    // Prepare
    const before = (await beta.invoke({ action: 'count' })) as { environmentId: string };
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 20);
    const started = Date.now();

    // Act
    const timedOut = await failure(beta.invoke({ action: 'spin', ms: 10_000 }));
    const elapsed = Date.now() - started;
    clearInterval(ticker);
    const after = (await beta.invoke({ action: 'count' })) as { environmentId: string; invocations: number };

    // Assess
    expect(timedOut).toBeInstanceOf(FunctionTimeoutError);
    expect(timedOut.errorType).toBe('Sandbox.Timedout');
    expect(timedOut.errorMessage).toMatch(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(4000);
    // The host's own timers fired through the whole second the handler spun.
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(after.environmentId).not.toBe(before.environmentId);
    expect(after.invocations).toBe(1);
  });

  it('replaces an environment whose runtime exits, runs out of memory or has an unhandled rejection', async () => {
    // Act
    const exited = await failure(beta.invoke({ action: 'exit', code: 3 }));
    const outOfMemory = await failure(beta.invoke({ action: 'leak' }));
    const unhandled = await failure(beta.invoke({ action: 'unhandled', message: 'nobody awaited me' }));
    const recovered = (await beta.invoke({ action: 'count' })) as { invocations: number };

    // Assess
    expect(exited.errorType).toBe('Runtime.ExitError');
    expect(exited.errorMessage).toMatch(/^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3$/);
    expect(outOfMemory.errorType).toBe('Runtime.OutOfMemory');
    expect(outOfMemory.errorMessage).toContain('memorySize 64 MB');
    expect(unhandled.errorType).toBe('Runtime.UnhandledPromiseRejection');
    expect(unhandled.errorMessage).toBe('Error: nobody awaited me');
    expect(recovered.invocations).toBe(1);
  });

  it('runs a callback-style handler, and refuses a result that is not JSON with Runtime.MalformedHandlerResponse', async () => {
    // Prepare
    const callback = open(spec('callback', { handler: 'runtime-handlers.callbackStyle' }));

    // Act
    const doubled = await callback.invoke({ value: 21 });
    const circular = await failure(alpha.invoke({ action: 'circular' }));

    // Assess
    expect(doubled).toEqual({ doubled: 42 });
    expect(circular.errorType).toBe('Runtime.MalformedHandlerResponse');
    expect(circular.errorMessage).toMatch(/^Unable to stringify response body: /);
  });

  it('runs up to maxConcurrency invocations at once, each in its own environment, and queues the rest', async () => {
    // Prepare
    const pool = open(spec('pool'), 2);

    // Act
    const started = Date.now();
    const results = (await Promise.all(Array.from({ length: 4 }, () => pool.invoke({ action: 'sleep', ms: 300 })))) as Array<{ environmentId: string }>;
    const elapsed = Date.now() - started;

    // Assess
    expect(new Set(results.map((result) => result.environmentId)).size).toBe(2);
    expect(pool.coldStarts).toBe(2);
    expect(pool.environmentCount).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(600);
  });

  it('fails the init of a missing file, a missing export or a module that throws, naming the handler', async () => {
    // Prepare
    const missingFile = open(spec('missing-file', { handler: 'no-such-file.run' }));
    const missingExport = open(spec('missing-export', { handler: 'runtime-handlers.nope' }));
    const throwing = open(spec('throwing', { handler: 'broken-module.handler' }));
    const configured = open(spec('configured', { handler: 'broken-module.handler', environment: { BROKEN_MODULE_CONFIG: 'set' } }));

    // Act
    const fileError = await failure(missingFile.load());
    const exportError = await failure(missingExport.invoke({}));
    const initError = await failure(throwing.load());
    const answer = await configured.invoke({});

    // Assess
    expect(fileError).toBeInstanceOf(HandlerNotFoundError);
    expect(fileError.errorType).toBe('Runtime.ImportModuleError');
    expect(fileError.errorMessage).toContain('no-such-file');
    expect(exportError).toBeInstanceOf(HandlerNotFoundError);
    expect(exportError.errorType).toBe('Runtime.HandlerNotFound');
    expect(exportError.errorMessage).toContain('runtime-handlers.nope is undefined or not exported');
    expect(initError).toBeInstanceOf(FunctionInitError);
    expect(initError).not.toBeInstanceOf(HandlerNotFoundError);
    expect(initError.toJSON()).toMatchObject({ errorType: 'ConfigMissingError', errorMessage: 'BROKEN_MODULE_CONFIG is not set' });
    expect(answer).toBe('configured');
    expect(throwing.environmentCount).toBe(0);
  });

  it('fails the init of a handler that does not parse or imports a missing module, as Lambda does', async () => {
    // Prepare
    const syntax = open(spec('syntax', { handler: 'syntax-error.handler' }));
    const unresolved = open(spec('unresolved', { handler: 'missing-import.handler' }));

    // Act
    const syntaxError = await failure(syntax.invoke({}));
    const importError = await failure(unresolved.load());

    // Assess
    expect(syntaxError).toBeInstanceOf(FunctionInitError);
    expect(syntaxError.errorType).toBe('Runtime.UserCodeSyntaxError');
    expect(syntaxError.errorMessage).toMatch(/^SyntaxError: handler "syntax-error.handler": .*syntax-error\.mjs:3:/);
    expect(importError).toBeInstanceOf(HandlerNotFoundError);
    expect(importError.errorType).toBe('Runtime.ImportModuleError');
    expect(importError.errorMessage).toContain('Could not resolve "./no-such-module.mjs"');
    expect(syntax.coldStarts + unresolved.coldStarts).toBe(0);
  });

  it('refuses a handler name without an export and a concurrency below 1', () => {
    // Act / Assess
    expect(() => new WorkerFunction(spec('bad-concurrency'), OPTIONS, 0)).toThrow(InvalidConcurrencyError);
    expect(() => new WorkerFunction(spec('bad-concurrency'), OPTIONS, 1.5)).toThrow('maxConcurrency must be a whole number of at least 1; got 1.5');
    return expect(open(spec('no-export', { handler: 'runtime-handlers.' })).load()).rejects.toMatchObject({ errorType: 'Runtime.MalformedHandlerName', message: expect.stringContaining('"runtime-handlers." must be "path/to/file.exportName"') });
  });

  it('fails invocations waiting for an environment, and later ones, once closed', async () => {
    // Prepare
    const closing = open(spec('closing'), 1);
    await closing.load();
    const outcome = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: unknown) => error);
    const running = outcome(closing.invoke({ action: 'sleep', ms: 2000 }));
    const waiting = outcome(closing.invoke({ action: 'count' }));

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    await closing.close();

    // Assess
    expect(await running).toBeInstanceOf(FunctionClosedError);
    expect(await waiting).toBeInstanceOf(FunctionClosedError);
    expect(closing.environmentCount).toBe(0);
    await expect(closing.invoke({ action: 'count' })).rejects.toThrow('function closing is closed: the local stack is stopping');
  });
});

describe('Function: functionEnvironment', () => {
  it('builds the environment from serverless.yml and the Lambda variables, passing only a few host variables through', () => {
    // Act
    const env = functionEnvironment(spec('envs', { environment: { TABLE: 't', AWS_ENDPOINT_URL: 'http://ignored' } }), {
      ...OPTIONS,
      hostEnv: { PATH: '/bin', POWERTOOLS_LOG_LEVEL: 'ERROR', SECRET_OF_THE_HOST: 'x', AWS_ACCESS_KEY_ID: 'AKIDHOST' },
    });

    // Assess
    expect(env).toMatchObject({
      PATH: '/bin',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_ACCESS_KEY_ID: 'AKIDHOST',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: 'envs',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/envs',
      TABLE: 't',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    expect(env).not.toHaveProperty('SECRET_OF_THE_HOST');
  });
});

describe('Function: functionConcurrency', () => {
  const sqs = (maximumConcurrency?: number): SqsEventSpec => ({ queueArn: 'arn:aws:sqs:eu-west-1:123456789012:q', queueName: 'q', batchSize: 10, maximumBatchingWindow: 0, reportBatchItemFailures: true, enabled: true, ...(maximumConcurrency ? { maximumConcurrency } : {}) });

  it("allows what the event sources poll with, and a default for functions only Step Functions invokes", () => {
    // Act / Assess
    expect(functionConcurrency(spec('a', { sqsEvents: [sqs(10)] }), 64)).toBe(10);
    expect(functionConcurrency(spec('b', { sqsEvents: [sqs(2), sqs()] }), 64)).toBe(7);
    expect(functionConcurrency(spec('c'), 64)).toBe(DEFAULT_FUNCTION_CONCURRENCY);
  });

  it('holds every function to the environments this machine allows', () => {
    // Act / Assess
    expect(functionConcurrency(spec('a', { sqsEvents: [sqs(10)] }), 4)).toBe(4);
    expect(hostConcurrencyLimit({ SMHOST_LAMBDA_MAX_ENVIRONMENTS: '3' })).toBe(3);
    expect(hostConcurrencyLimit({})).toBe(availableParallelism());
  });

  it('refuses a SMHOST_LAMBDA_MAX_ENVIRONMENTS that is not a whole number of at least 1, naming it', () => {
    // Act / Assess
    for (const value of ['0', '-2', '2.5', 'many']) {
      expect(() => hostConcurrencyLimit({ SMHOST_LAMBDA_MAX_ENVIRONMENTS: value })).toThrow(InvalidMaxEnvironmentsError);
    }
    expect(() => hostConcurrencyLimit({ SMHOST_LAMBDA_MAX_ENVIRONMENTS: 'many' })).toThrow('SMHOST_LAMBDA_MAX_ENVIRONMENTS must be a whole number of at least 1; got "many"');
  });
});

describe('Function: lambdaServiceFor', () => {
  it('gives the stack and its Step Functions one service per edge, and a new one once it is closed', async () => {
    // Prepare
    const options = { ...OPTIONS, endpointUrl: 'http://127.0.0.1:19' };

    // Act
    const first = lambdaServiceFor(options);
    const again = lambdaServiceFor({ ...options, onWarning: () => undefined });
    const otherEdge = lambdaServiceFor({ ...options, endpointUrl: 'http://127.0.0.1:20' });
    await first.close();
    const afterClose = lambdaServiceFor(options);

    // Assess
    expect(again).toBe(first);
    expect(again.function(spec('shared'))).toBe(first.function(spec('shared')));
    expect(otherEdge).not.toBe(first);
    expect(afterClose).not.toBe(first);
    await Promise.all([otherEdge.close(), afterClose.close()]);
  });
});
