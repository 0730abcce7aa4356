/**
 * The local stack serves the state machines of serverless.yml at its one endpoint: the AWS CLI, a second
 * process knowing nothing of the project, lists them, starts one and reads its outcome, and
 * `triggerSchedules` starts the scheduled ones at once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/local/stack';

const run = promisify(execFile);
const PROJECT_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

function awsCli(stack: LocalStack) {
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: stack.url,
    AWS_DEFAULT_REGION: stack.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  return async (...args: string[]) => JSON.parse((await run('aws', [...args, '--output', 'json'], { env })).stdout) as Record<string, any>;
}

describe('Function: startLocalStack, Step Functions', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ ephemeral: true, port: 0, timeScale: 0.01, serverlessYml: PROJECT_YML });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lists the state machines of serverless.yml to the AWS CLI', async () => {
    const aws = awsCli(stack);
    const listed = await aws('stepfunctions', 'list-state-machines');
    const names = (listed.stateMachines as Array<{ name: string }>).map((m) => m.name).sort();
    expect(names).toEqual([
      'smhost-dev-batch-transform',
      'smhost-dev-deploy-multi-model-endpoint',
      'smhost-dev-deploy-pipeline-model',
      'smhost-dev-register-model-package',
    ]);
  });

  it('runs an execution started by the AWS CLI and reports its outcome', async () => {
    // Prepare
    const aws = awsCli(stack);
    const arn = `arn:aws:states:${stack.region}:000000000000:stateMachine:smhost-dev-register-model-package`;
    const input = {
      modelPackageGroupName: 'cli-group',
      containers: [{ image: 'smhost/onnxruntime:1', modelDataUrl: `s3://${stack.names.bucket}/pipelines/m.tar.gz` }],
      contentTypes: ['application/json'],
      responseTypes: ['application/json'],
      approvalStatus: 'Approved',
    };

    // Act
    const started = await aws('stepfunctions', 'start-execution', '--state-machine-arn', arn, '--input', JSON.stringify(input));
    let described: Record<string, any> = {};
    for (let i = 0; i < 100; i += 1) {
      described = await aws('stepfunctions', 'describe-execution', '--execution-arn', started.executionArn);
      if (described.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output).modelPackageArn).toMatch(/:model-package\/cli-group\/1$/);
  });

  it('refuses a bad input in its first state, naming the field, and creates nothing', async () => {
    const aws = awsCli(stack);
    const arn = `arn:aws:states:${stack.region}:000000000000:stateMachine:smhost-dev-register-model-package`;
    const started = await aws('stepfunctions', 'start-execution', '--state-machine-arn', arn, '--input', JSON.stringify({ modelPackageGroupName: 'bad group!' }));
    let described: Record<string, any> = {};
    for (let i = 0; i < 100; i += 1) {
      described = await aws('stepfunctions', 'describe-execution', '--execution-arn', started.executionArn);
      if (described.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('WorkflowInputError');
    expect(described.cause).toMatch(/modelPackageGroupName/);
    const groups = await aws('sagemaker', 'list-model-package-groups');
    expect((groups.ModelPackageGroupSummaryList as Array<{ ModelPackageGroupName: string }>).map((g) => g.ModelPackageGroupName)).not.toContain('bad group!');
  });
});

describe('Function: startLocalStack, triggerSchedules', () => {
  it('starts each scheduled state machine once at start, disabled schedules included, and logs how each run ended', async () => {
    const lines: string[] = [];
    const stack = await startLocalStack({ ephemeral: true, port: 0, timeScale: 0.01, serverlessYml: PROJECT_YML, triggerSchedules: true, log: (line) => lines.push(line) });
    try {
      const arn = `arn:aws:states:${stack.region}:000000000000:stateMachine:smhost-dev-batch-transform`;
      const aws = awsCli(stack);
      const executions = await aws('stepfunctions', 'list-executions', '--state-machine-arn', arn);
      expect(executions.executions).toHaveLength(1);
      // A new stack has no model to score with: the run fails, and the log says so once, with the cause.
      const executionArn = executions.executions[0].executionArn as string;
      const ended = await vi.waitUntil(() => lines.find((line) => line.includes(executionArn) && !line.includes(': started ')), { timeout: 20_000, interval: 20 });
      expect(ended).toMatch(new RegExp(`^schedule [\\w-]+: ${executionArn} FAILED: \\S+ \\(.+\\)$`));
      expect(lines.filter((line) => line.includes(executionArn))).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });
});
