import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { asl, ROLE_ARN, startSfn, type SfnHarness } from './support';

const run = promisify(execFile);
let harness: SfnHarness;

/** Runs `aws stepfunctions <args>` against the service, as a user would with AWS_ENDPOINT_URL set. */
async function awsCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: harness.server.url,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDCLI',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  try {
    const { stdout, stderr } = await run('aws', ['stepfunctions', ...args, '--output', 'json'], { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  harness = await startSfn();
});

afterAll(async () => {
  await harness?.close();
});

describe('Function: createStepFunctionsService (AWS CLI)', () => {
  it('creates a state machine, starts an execution and describes it with the AWS CLI', async () => {
    // Prepare
    const definition = asl({
      StartAt: 'Add',
      States: { Add: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'fixture-add', 'Payload.$': '$' }, OutputPath: '$.Payload', End: true } },
    });
    const created = await awsCli('create-state-machine', '--name', 'cli-adder', '--definition', definition, '--role-arn', ROLE_ARN);
    const stateMachineArn = (JSON.parse(created.stdout) as { stateMachineArn: string }).stateMachineArn;

    // Act
    const started = await awsCli('start-execution', '--state-machine-arn', stateMachineArn, '--name', 'from-cli', '--input', '{"a": 2, "b": 40}');
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    await harness.server.service.waitForExecution(executionArn);
    const described = await awsCli('describe-execution', '--execution-arn', executionArn);

    // Assess
    expect(created.code).toBe(0);
    expect(stateMachineArn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:cli-adder');
    expect(executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:cli-adder:from-cli');
    expect(JSON.parse(described.stdout)).toMatchObject({ status: 'SUCCEEDED', output: '{"sum":42}', name: 'from-cli' });
  });

  it('reports ExecutionDoesNotExist to the AWS CLI with a non-zero exit', async () => {
    // Act
    const described = await awsCli('describe-execution', '--execution-arn', 'arn:aws:states:us-east-1:000000000000:execution:cli-adder:absent');

    // Assess
    expect(described.code).not.toBe(0);
    expect(described.stderr).toContain('ExecutionDoesNotExist');
  });
});
