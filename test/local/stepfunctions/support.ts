/**
 * Shared pieces of the Step Functions tests: the service on its own server with SFN clients built by
 * src/aws/clients.ts, the fixture Lambda functions run by the real in-process runner, and small helpers.
 */
import { fileURLToPath } from 'node:url';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { createSfnClient } from '../../../src/aws/clients';
import {
  functionsFromSpecs,
  startLocalStepFunctions,
  startStepFunctionsServer,
  type LocalStepFunctions,
  type StepFunctionsServer,
} from '../../../src/local/stepfunctions';
import type { StepFunctionsServiceOptions } from '../../../src/local/stepfunctions';
import type { FunctionSpec } from '../../../src/local/serverless/stack-config';
import { CREDENTIALS, type TestStack } from '../sagemaker/support';

export const ROLE_ARN = 'arn:aws:iam::000000000000:role/StatesRole';
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDSFNTEST', secretAccessKey: 'secret' };
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The fixture handlers as `serverless.yml` functions named `fixture-<export>`. */
export function fixtureFunctions(): FunctionSpec[] {
  return ['add', 'refuse', 'flaky', 'slow'].map((name) => ({
    key: name,
    name: `fixture-${name}`,
    handler: 'test/local/stepfunctions/fixtures/handlers.' + name,
    environment: {},
    timeoutSeconds: 5,
    memorySize: 128,
    sqsEvents: [],
  }));
}

export interface SfnHarness {
  server: StepFunctionsServer;
  sfn: SFNClient;
  close(): Promise<void>;
}

/** Starts the service (100x faster than real time unless told) with the fixture functions. */
export async function startSfn(options: StepFunctionsServiceOptions = {}): Promise<SfnHarness> {
  const server = await startStepFunctionsServer({
    timeScale: 0.01,
    functions: functionsFromSpecs(fixtureFunctions(), {
      serviceDir: REPOSITORY_ROOT,
      region: 'us-east-1',
      accountId: '000000000000',
      endpointUrl: 'http://127.0.0.1:9',
    }),
    ...options,
  });
  const sfn = createSfnClient({ endpoint: server.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  return {
    server,
    sfn,
    async close() {
      sfn.destroy();
      await server.close();
    },
  };
}

/**
 * The project's serverless.yml state machines on the local Step Functions (their Lambda tasks run by the real
 * handlers), their SageMaker and S3 tasks sent to the emulator `stack`, 100x faster than real time and with
 * no schedule armed.
 */
export function startProjectStepFunctions(stack: TestStack): Promise<LocalStepFunctions> {
  return startLocalStepFunctions({
    serverlessYml: `${REPOSITORY_ROOT}serverless.yml`,
    readOptions: { env: {} },
    endpointUrl: 'http://127.0.0.1:9',
    endpoints: { sagemaker: stack.server.url, s3: stack.s3Endpoint },
    credentials: CREDENTIALS,
    timeScale: 0.01,
    runSchedules: false,
  });
}

/** Starts an execution and waits until it has ended, returning DescribeExecution's answer. */
export async function runToEnd(harness: SfnHarness, stateMachineArn: string, input: unknown, name?: string) {
  const started = await harness.sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), ...(name ? { name } : {}) }));
  await harness.server.service.waitForExecution(started.executionArn!);
  return harness.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
}

/** The whole history of an execution, through the API. */
export async function history(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, ...(nextToken ? { nextToken } : {}) }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** `definition` as the JSON text the API takes. */
export function asl(definition: unknown): string {
  return JSON.stringify(definition);
}
