/**
 * Runs the command line against real s3rver and dynalite servers (test/support/local-aws.ts), with the
 * registration Lambda simulated the way AWS runs it: once an object lands in `incoming/`, the real
 * handler (`functions/register-artifacts.ts`) is called with an SQS event whose body is the S3 event
 * notification AWS would send for it (test/support/s3-events.ts: URL-encoded key, eTag, size, sequencer).
 *
 * SageMaker is the local emulator (src/local/sagemaker) on its own port. These tests create no
 * endpoint, so registration's `DescribeEndpoint` finds none and records versions as current and
 * unverified, as it does on AWS before the endpoint is deployed.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  createClients,
  createS3Client,
  createSageMakerClient,
  createSageMakerRuntimeClient,
} from '../../src/aws/clients';
import { startSageMakerServer, type SageMakerServer } from '../../src/local/sagemaker';
import { stackNames } from '../../src/aws/stack-names';
import type { CliContext, ContextFactory } from '../../src/cli/context';
import { DEFAULT_COPY, DEFAULT_WARM_UP, DynamoRegistry, type MultiModelDeps } from '../../src/multimodel';
import { createHandler } from '../../functions/register-artifacts';
import { LOCAL_CREDENTIALS, startLocalAws, type LocalAws } from '../support/local-aws';
import { sqsEventForObjects } from '../support/s3-events';

export interface LocalRegistration {
  aws: LocalAws;
  sagemaker: SageMakerServer;
  registry: DynamoRegistry;
  /** The CLI's context: its S3 client notifies the registration after each write to the drop zone. */
  factory: ContextFactory;
  /** Handler results of the notifications so far (a failure is in `batchItemFailures`). */
  deliveries: Promise<{ key: string; batchItemFailures: unknown[] }>[];
  stop(): Promise<void>;
}

const lambdaContext = {
  functionName: 'registerArtifacts',
  awsRequestId: 'test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** Starts the servers and returns a context factory for the CLI plus the simulated registration. */
export async function startLocalRegistration(): Promise<LocalRegistration> {
  const names = stackNames({ env: {} });
  const aws = await startLocalAws({ bucket: names.bucket, table: names.registryTable });
  const registry = new DynamoRegistry(aws.dynamo, aws.table);
  const sagemakerDir = await mkdtemp(join(tmpdir(), 'smhost-cli-sagemaker-'));
  const sagemaker = await startSageMakerServer({ s3: aws.s3, dataDir: sagemakerDir, recoverEndpoints: false });
  const sagemakerOptions = { region: 'us-east-1', endpoint: sagemaker.url, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const sagemakerClient = createSageMakerClient(sagemakerOptions);
  const sagemakerRuntime = createSageMakerRuntimeClient(sagemakerOptions);
  const deps: MultiModelDeps = {
    s3: aws.s3,
    registry,
    sagemaker: sagemakerClient,
    sagemakerRuntime,
    config: {
      bucket: aws.bucket,
      registryTable: aws.table,
      incomingPrefix: 'incoming/',
      modelsPrefix: 'models/',
      archiveLimits: {},
      warmUp: DEFAULT_WARM_UP,
      copy: DEFAULT_COPY,
    },
  };
  const handler = createHandler({ deps, logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }) });

  // The CLI gets its own S3 client, observed like S3 observes requests: a successful write of an
  // artifact to the drop zone is followed, asynchronously, by its event reaching the handler.
  const cliS3 = createS3Client(aws.s3Options);
  const deliveries: LocalRegistration['deliveries'] = [];
  cliS3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Bucket?: string; Key?: string };
      const writes = ['PutObjectCommand', 'CopyObjectCommand', 'CompleteMultipartUploadCommand'];
      if (writes.includes(context.commandName ?? '') && input.Key?.startsWith('incoming/') && input.Key.endsWith('.tar.gz')) {
        const key = input.Key;
        deliveries.push(
          (async () => {
            const head = await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }));
            const event = sqsEventForObjects({ bucket: aws.bucket, key, eTag: head.ETag ?? '', size: head.ContentLength ?? 0 });
            return { key, ...(await handler(event, lambdaContext)) };
          })(),
        );
      }
      return result;
    },
    { step: 'initialize', name: 'notifyRegistration' },
  );

  const other = createClients({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const { bucket: _bucket, ...contextNames } = names;
  const context: CliContext = {
    clients: { ...other, s3: cliS3, dynamo: aws.dynamo, sagemaker: sagemakerClient, sagemakerRuntime },
    names: contextNames,
    registry,
    bucket: async () => aws.bucket,
  };

  return {
    aws,
    sagemaker,
    registry,
    factory: () => context,
    deliveries,
    async stop() {
      await Promise.allSettled(deliveries);
      cliS3.destroy();
      sagemakerClient.destroy();
      sagemakerRuntime.destroy();
      for (const client of Object.values(other)) client.destroy();
      await sagemaker.close();
      await rm(sagemakerDir, { recursive: true, force: true });
      await aws.stop();
    },
  };
}
