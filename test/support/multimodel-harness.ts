/**
 * The multi-model use cases against real local S3 and DynamoDB (s3rver and dynalite, through the real SDK
 * clients) with SageMaker mocked (its emulator is tested elsewhere): the servers started before a file's
 * tests and stopped after them, and before each test a fresh endpoint name, so tests share no registry
 * items, with every endpoint `InService` and serving every model.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DynamoRegistry, registrationConfigFromEnv, type MultiModelDeps } from '../../src/multimodel';
import { startLocalAws, type LocalAws } from './local-aws';

export interface MultiModelHarness {
  readonly aws: LocalAws;
  readonly registry: DynamoRegistry;
  /** The use cases' dependencies: the local clients, the mocked SageMaker clients, no wait between retries. */
  readonly deps: MultiModelDeps;
  /** The mocks of `deps.sagemaker` and `deps.sagemakerRuntime`, reset before each test. */
  readonly sagemakerMock: AwsClientStub<SageMakerClient>;
  readonly runtimeMock: AwsClientStub<SageMakerRuntimeClient>;
  /** The current test's endpoint name: `<prefix>-<n>`, new for every test. */
  endpoint(): string;
}

/** Registers the servers' start and stop and the per-test reset; read the fields inside tests and hooks. */
export function useMultiModelHarness(endpointPrefix: string): MultiModelHarness {
  const sagemaker = new SageMakerClient({ region: 'us-east-1' });
  const runtime = new SageMakerRuntimeClient({ region: 'us-east-1' });
  const sagemakerMock = mockClient(sagemaker);
  const runtimeMock = mockClient(runtime);
  let started: { aws: LocalAws; registry: DynamoRegistry; deps: MultiModelDeps } | undefined;
  let counter = 0;

  beforeAll(async () => {
    const aws = await startLocalAws();
    const registry = new DynamoRegistry(aws.dynamo, aws.table);
    const deps: MultiModelDeps = {
      s3: aws.s3,
      registry,
      sagemaker,
      sagemakerRuntime: runtime,
      config: registrationConfigFromEnv({ ARTIFACTS_BUCKET: aws.bucket, REGISTRY_TABLE: aws.table }),
      sleep: async () => undefined,
    };
    started = { aws, registry, deps };
  });

  afterAll(async () => {
    await started?.aws.stop();
  });

  beforeEach(() => {
    counter += 1;
    sagemakerMock.reset();
    runtimeMock.reset();
    sagemakerMock.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService' });
    runtimeMock.on(InvokeEndpointCommand).resolves({});
  });

  const ready = () => {
    if (!started) throw new Error('the local servers start in beforeAll; read the harness inside tests and hooks');
    return started;
  };
  return {
    get aws() {
      return ready().aws;
    },
    get registry() {
      return ready().registry;
    },
    get deps() {
      return ready().deps;
    },
    sagemakerMock,
    runtimeMock,
    endpoint: () => `${endpointPrefix}-${counter}`,
  };
}
