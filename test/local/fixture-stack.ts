/** Starts the local stack on the fixture service, ephemeral and 100 times faster, with SDK clients on its edge. */
import { fileURLToPath } from 'node:url';
import { createClients, type AwsClients } from '../../src/aws/clients';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/local/stack';

export const FIXTURE_YML = fileURLToPath(new URL('./fixtures/serverless.yml', import.meta.url));
export const FIXTURE_BUCKET = 'fixture-test-bucket-000000000000';
export const FIXTURE_EVENTS_QUEUE = 'fixture-test-events';
export const FIXTURE_WORK_QUEUE = 'fixture-test-work';
export const FIXTURE_DLQ = 'fixture-test-work-dlq';
export const FIXTURE_TABLE = 'fixture-test-table';
export const LOCAL_TEST_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'secret' };

export interface FixtureStack {
  stack: LocalStack;
  clients: AwsClients;
  close(): Promise<void>;
}

export async function startFixtureStack(options: Partial<LocalStackOptions> = {}): Promise<FixtureStack> {
  const stack = await startLocalStack({ ephemeral: true, timeScale: 0.01, serverlessYml: FIXTURE_YML, ...options });
  const clients = createClients({ endpoint: stack.url, region: 'us-east-1', credentials: LOCAL_TEST_CREDENTIALS });
  return {
    stack,
    clients,
    async close() {
      for (const client of Object.values(clients)) client.destroy();
      await stack.close();
    },
  };
}

/** The environment for boto3 and the AWS CLI pointed at `url`. */
export function toolEnv(url: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ENDPOINT_URL: url,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDPYTHON',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
