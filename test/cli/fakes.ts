/** Test doubles for running the command line in-process: captured streams and a context of mocked clients. */
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { stackNames } from '../../src/aws/stack-names';
import type { CliContext, ContextFactory } from '../../src/cli/context';
import type { Registry } from '../../src/multimodel/registry';
import { runCli, type InterruptSource } from '../../src/cli/program';

export interface Captured {
  stdout: () => string;
  stderr: () => string;
  stdoutBytes: () => Buffer;
  streams: {
    stdout: { write(chunk: string | Uint8Array): boolean };
    stderr: { write(chunk: string | Uint8Array): boolean };
  };
}

/** How the captured streams present themselves: a terminal on stderr, a file behind stdout. */
export interface StreamKinds {
  stderrIsTTY?: boolean;
  stdoutIsFile?: boolean;
}

export function captureStreams(kinds: StreamKinds = {}): Captured {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const push = (into: Buffer[]) => (chunk: string | Uint8Array) => {
    into.push(Buffer.from(chunk));
    return true;
  };
  return {
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    stdoutBytes: () => Buffer.concat(out),
    streams: {
      stdout: { write: push(out), ...(kinds.stdoutIsFile ? { isFile: true } : {}) },
      stderr: { write: push(err), ...(kinds.stderrIsTTY ? { isTTY: true } : {}) },
    },
  };
}

/**
 * A registry whose every method fails unless the test gives it: a test states exactly which registry
 * calls it expects.
 */
export function stubRegistry(methods: Partial<Registry>): Registry {
  return new Proxy(methods as Registry, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (value !== undefined || typeof property !== 'string') return value;
      return () => Promise.reject(new Error(`unexpected registry call: ${property}`));
    },
  });
}

export const TEST_BUCKET = 'smhost-dev-artifacts-000000000000';

/** A context of mocked clients (aws-sdk-client-mock) and the given registry. */
export function mockedContext(registry: Registry) {
  const clients = {
    s3: new S3Client({ region: 'us-east-1' }),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    sagemaker: new SageMakerClient({ region: 'us-east-1' }),
    sagemakerRuntime: new SageMakerRuntimeClient({ region: 'us-east-1' }),
    sqs: new SQSClient({ region: 'us-east-1' }),
    sfn: new SFNClient({ region: 'us-east-1' }),
    sts: new STSClient({ region: 'us-east-1' }),
  };
  const mocks = {
    s3: mockClient(clients.s3),
    sqs: mockClient(clients.sqs),
    runtime: mockClient(clients.sagemakerRuntime),
  };
  const { bucket: _bucket, ...names } = stackNames({ env: {} });
  const context: CliContext = { clients, names, registry, bucket: async () => TEST_BUCKET };
  let created = 0;
  const factory: ContextFactory = (options) => {
    created += 1;
    const { bucket: _b, ...staged } = stackNames({ env: {}, ...(options.stage ? { stage: options.stage } : {}) });
    return { ...context, names: staged };
  };
  return { context, factory, mocks, contextsCreated: () => created };
}

export interface RunOptions extends StreamKinds {
  env?: NodeJS.ProcessEnv;
  interrupts?: InterruptSource;
}

/** Runs the command line in-process with a context factory, capturing its output. */
export async function run(args: string[], factory?: ContextFactory, options: RunOptions = {}) {
  const captured = captureStreams(options);
  const code = await runCli(args, {
    streams: captured.streams,
    env: options.env ?? {},
    ...(factory ? { createContext: factory } : {}),
    ...(options.interrupts ? { interrupts: options.interrupts } : {}),
  });
  return { code, ...captured };
}

/** An interrupt source the test fires itself, as a user pressing Ctrl-C. */
export function manualInterrupts(): InterruptSource & { fire(): void; listening(): number } {
  const listeners = new Set<() => void>();
  return {
    onInterrupt(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fire: () => {
      for (const listener of [...listeners]) listener();
    },
    listening: () => listeners.size,
  };
}
