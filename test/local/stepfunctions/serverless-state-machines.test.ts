import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerlessStepFunctions, startLocalStepFunctions, stateMachineLogicalId } from '../../../src/local/stepfunctions';
import { ServerlessConfigError } from '../../../src/local/serverless/errors';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'service');
const temporary: string[] = [];

afterEach(async () => {
  for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function service(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sfn-yml-'));
  temporary.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return join(dir, 'serverless.yml');
}

describe('Function: readServerlessStepFunctions', () => {
  it('reads state machines with ${file(...)} definitions (JSON and YAML), variables resolved inside them, and their roles', () => {
    // Act
    const read = readServerlessStepFunctions(join(FIXTURE, 'serverless.yml'), { env: {} });

    // Assess
    const [hello, plain] = read.stateMachines;
    expect(hello).toMatchObject({
      key: 'hello',
      logicalId: 'HelloStepFunctionsStateMachine',
      name: 'sfn-fixture-dev-hello-machine',
      arn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:sfn-fixture-dev-hello-machine',
      roleArn: 'arn:aws:iam::000000000000:role/hello-machine-role',
    });
    expect(JSON.parse(hello!.definition).States.Hello.Parameters.FunctionName).toBe('sfn-fixture-dev-hello');
    expect(plain).toMatchObject({ logicalId: 'PlainStepFunctionsStateMachine', name: 'PlainStepFunctionsStateMachine' });
    expect(JSON.parse(plain!.definition).States.Done.Result).toEqual({ region: 'eu-west-1' });
  });

  it('reads the plugin schedule events and Scheduler resources that target the state machines, and ignores other targets', () => {
    // Act
    const { schedules } = readServerlessStepFunctions(join(FIXTURE, 'serverless.yml'), { env: {} });

    // Assess
    const arn = 'arn:aws:states:eu-west-1:000000000000:stateMachine:sfn-fixture-dev-hello-machine';
    expect(schedules).toEqual([
      { name: 'hello-schedule-1', expression: 'rate(5 minutes)', enabled: true, kind: 'events', target: { stateMachineArn: arn }, retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 } },
      {
        name: 'hello-schedule-2',
        expression: 'cron(0 6 ? * MON *)',
        timezone: 'Europe/Paris',
        enabled: false,
        kind: 'scheduler',
        target: { stateMachineArn: arn, input: '{"greeting":"morning"}' },
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 600 },
      },
      {
        name: 'HelloNightly',
        expression: 'at(2030-01-01T00:00:00)',
        timezone: 'Asia/Tokyo',
        enabled: true,
        kind: 'scheduler',
        target: { stateMachineArn: arn, input: '{"account":"000000000000","when":"<aws.scheduler.scheduled-time>"}' },
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
        deadLetterArn: 'arn:aws:sqs:eu-west-1:000000000000:hello-schedule-dlq',
      },
    ]);
  });

  it('refuses a missing file, a file variable inside a text and a bad retry policy, naming where', async () => {
    // Prepare
    const missing = await service({ 'serverless.yml': 'service: s\nstepFunctions:\n  stateMachines:\n    a:\n      definition: ${file(nope.json)}\n' });
    const embedded = await service({ 'serverless.yml': "service: s\ncustom:\n  text: 'x ${file(a.json)}'\n", 'a.json': '{}' });
    const badRetry = await service({
      'serverless.yml':
        'service: s\nstepFunctions:\n  stateMachines:\n    a:\n      definition: ${file(a.json)}\n      events:\n        - schedule:\n            rate: rate(1 day)\n            retryPolicy:\n              maximumRetryAttempts: 500\n',
      'a.json': '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
    });

    // Act
    const read = (path: string) => () => readServerlessStepFunctions(path, { env: {} });

    // Assess
    expect(read(missing)).toThrow(ServerlessConfigError);
    expect(read(missing)).toThrow('stepFunctions.stateMachines.a.definition: ${file(nope.json)} cannot be read');
    expect(read(embedded)).toThrow('must be the whole value');
    expect(read(badRetry)).toThrow('retryPolicy.maximumRetryAttempts must be an integer from 0 to 185');
  });

  it('names state machines the way the plugin does', () => {
    // Assess
    expect(stateMachineLogicalId('batch-transform', {})).toBe('BatchDashtransformStepFunctionsStateMachine');
    expect(stateMachineLogicalId('x', { id: 'MyMachine' })).toBe('MyMachine');
  });
});

describe('Function: startLocalStepFunctions', () => {
  it('refuses a state machine whose definition is invalid, naming it', async () => {
    // Prepare
    const path = await service({
      'serverless.yml': 'service: s\nstepFunctions:\n  stateMachines:\n    broken:\n      definition: ${file(a.json)}\n',
      'a.json': '{"StartAt":"Missing","States":{"A":{"Type":"Pass","End":true}}}',
    });

    // Act
    const start = startLocalStepFunctions({ serverlessYml: path, readOptions: { env: {} }, endpointUrl: 'http://127.0.0.1:9', timeScale: 1, runSchedules: false });

    // Assess
    await expect(start).rejects.toThrow('stepFunctions.stateMachines.broken cannot be created: Invalid State Machine Definition');
  });

  it('runs a fixture state machine whose Lambda task is the service function, in process', async () => {
    // Prepare
    const local = await startLocalStepFunctions({ serverlessYml: join(FIXTURE, 'serverless.yml'), readOptions: { env: {} }, endpointUrl: 'http://127.0.0.1:9', timeScale: 0.01, runSchedules: false });
    try {
      // Act
      const { executionArn } = local.service.startExecution({ stateMachineArn: local.stateMachines[0]!.arn, input: '{"name":"fixture"}' });
      const record = await local.service.waitForExecution(executionArn);

      // Assess
      expect(record).toMatchObject({ status: 'SUCCEEDED', output: '{"message":"hello fixture"}' });
    } finally {
      await local.close();
    }
  });
});
