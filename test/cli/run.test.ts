import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseExecutionName } from '../../src/cli/run';
import { MINIMAL_INPUTS } from '../workflows/sample-inputs';
import { manualInterrupts, mockedContext, run, stubRegistry } from './fakes';

const ACCOUNT = '123456789012';
const machineArn = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:smhost-dev-deploy-pipeline-model:ci-42`;
const MACHINES = ['smhost-dev-deploy-pipeline-model', 'smhost-prod-deploy-pipeline-model', 'smhost-dev-batch-transform', 'nightly-report'];

let dir: string;
let deployInput: string;
let badInput: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smhost-run-'));
  deployInput = join(dir, 'deploy.json');
  badInput = join(dir, 'bad.json');
  await writeFile(deployInput, JSON.stringify(MINIMAL_INPUTS['deploy-pipeline-model']));
  await writeFile(badInput, JSON.stringify({ ...MINIMAL_INPUTS['deploy-pipeline-model'], containers: [{ image: '' }], colour: 'red' }));
  await writeFile(join(dir, 'not-json.json'), '{"endpointName": ');
  await writeFile(join(dir, 'transform.json'), JSON.stringify(MINIMAL_INPUTS['batch-transform']));
  await writeFile(join(dir, 'partial-transform.json'), JSON.stringify({ modelName: 'iris', instanceType: 'ml.m5.large' }));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function setup() {
  const fakes = mockedContext(stubRegistry({}));
  const sfn = mockClient(fakes.context.clients.sfn);
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: MACHINES.map((name) => ({ name, stateMachineArn: machineArn(name), type: 'STANDARD', creationDate: new Date() })),
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
  return { ...fakes, sfn };
}

function history(...events: Omit<HistoryEvent, 'timestamp'>[]) {
  return { events: events.map((event) => ({ timestamp: new Date(), ...event })) as HistoryEvent[] };
}

let fakes: ReturnType<typeof setup>;
beforeEach(() => {
  fakes = setup();
});

describe('Command: smhost run', () => {
  it('starts the stage\'s state machine with the file as input, follows it and exits 0 with its output', async () => {
    // Prepare
    fakes.sfn.on(GetExecutionHistoryCommand).resolves(
      history(
        { id: 1, type: 'ExecutionStarted' },
        { id: 2, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Prepare' } },
        {
          id: 3,
          type: 'TaskSucceeded',
          taskSucceededEventDetails: { resourceType: 'aws-sdk:sagemaker', resource: 'describeEndpoint', output: '{"EndpointName":"iris-pipeline","EndpointStatus":"Creating"}' },
        },
        { id: 4, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{"endpointName":"iris-pipeline","created":true}' } },
      ),
    );

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--timeout', '60', '--name', 'ci-42', '--json'], fakes.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toEqual({
      status: 'SUCCEEDED',
      stateMachineArn: machineArn('smhost-dev-deploy-pipeline-model'),
      executionArn: EXECUTION,
      output: { endpointName: 'iris-pipeline', created: true },
    });
    expect(result.stderr()).toBe(
      [`started ${EXECUTION}`, '→ Prepare', '  endpoint iris-pipeline: Creating', 'succeeded', ''].join('\n'),
    );
    const start = fakes.sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start).toEqual({
      stateMachineArn: machineArn('smhost-dev-deploy-pipeline-model'),
      name: 'ci-42',
      input: JSON.stringify(MINIMAL_INPUTS['deploy-pipeline-model']),
    });
  });

  it('picks the state machine of --stage when several stacks share the account', async () => {
    // Act
    const result = await run(['--stage', 'prod', 'run', 'deploy-pipeline-model', '--input', deployInput], fakes.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(fakes.sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn).toBe(machineArn('smhost-prod-deploy-pipeline-model'));
    expect(result.stdout()).toContain('status:        started');
    expect(fakes.sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it('starts a state machine of another stack by its full name, without validating an input it has no schema for', async () => {
    // Act
    const result = await run(['run', 'nightly-report', '--input', badInput], fakes.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(fakes.sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn).toBe(machineArn('nightly-report'));
  });

  it('exits 1 with the error and cause of a failed execution', async () => {
    // Prepare
    fakes.sfn.on(GetExecutionHistoryCommand).resolves(
      history({
        id: 9,
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: 'EndpointFailedError', cause: 'endpoint iris-pipeline is Failed: the container exited' },
      }),
    );

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--json'], fakes.factory);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr()).toContain('smhost: execution failed: EndpointFailedError: endpoint iris-pipeline is Failed: the container exited');
    expect(JSON.parse(result.stdout())).toEqual({
      error: {
        name: 'ExecutionFailedError',
        message: 'execution failed: EndpointFailedError: endpoint iris-pipeline is Failed: the container exited',
        exitCode: 1,
        executionArn: EXECUTION,
        status: 'FAILED',
        error: 'EndpointFailedError',
        cause: 'endpoint iris-pipeline is Failed: the container exited',
      },
    });
  });

  it('exits 1 for an execution that timed out or was aborted, saying which', async () => {
    // Prepare
    fakes.sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce(history({ id: 5, type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } }))
      .resolvesOnce(history({ id: 5, type: 'ExecutionAborted', executionAbortedEventDetails: {} }));

    // Act
    const timedOut = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait'], fakes.factory);
    const aborted = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait'], fakes.factory);

    // Assess
    expect([timedOut.code, aborted.code]).toEqual([1, 1]);
    expect(timedOut.stderr()).toContain('smhost: execution timed out: States.Timeout');
    expect(aborted.stderr()).toContain('smhost: execution was aborted\n');
  });

  it('exits 4 when --timeout passes first, saying the execution goes on', async () => {
    // Prepare
    fakes.sfn.on(GetExecutionHistoryCommand).resolves(history({ id: 1, type: 'ExecutionStarted' }));

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--timeout', '0.2', '--poll', '0.05'], fakes.factory);

    // Assess
    expect(result.code).toBe(4);
    expect(result.stderr()).toContain(
      `smhost: execution still running after 0.2 s; stopped waiting (it goes on: ${EXECUTION}; ` +
        `to stop it: aws stepfunctions stop-execution --execution-arn ${EXECUTION})`,
    );
    expect(fakes.sfn.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThan(1);
  });

  it('exits 3 when no state machine has the name, and never takes one that merely ends in it', async () => {
    // Act
    const unknown = await run(['run', 'no-such-machine', '--input', deployInput], fakes.factory);
    const suffix = await run(['run', 'report', '--input', deployInput], fakes.factory);

    // Assess
    expect([unknown.code, suffix.code]).toEqual([3, 3]);
    expect(unknown.stderr()).toBe('smhost: no state machine no-such-machine\n');
    expect(suffix.stderr()).toBe(
      'smhost: no state machine report; the machines of this workflow that exist: nightly-report (pick the stage with --stage)\n',
    );
    expect(fakes.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it("exits 3 when the stage's state machine is missing, naming it and the stages' machines that exist, and starts none", async () => {
    // Act
    const result = await run(['--stage', 'prod', 'run', 'batch-transform', '--input', join(dir, 'transform.json'), '--json'], fakes.factory);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr()).toBe(
      'smhost: no state machine smhost-prod-batch-transform (workflow batch-transform of stage "prod"); ' +
        'the machines of this workflow that exist: smhost-dev-batch-transform (pick the stage with --stage)\n',
    );
    expect(JSON.parse(result.stdout()).error).toMatchObject({
      name: 'StateMachineMissingError',
      exitCode: 3,
      stateMachine: 'smhost-prod-batch-transform',
      existing: ['smhost-dev-batch-transform'],
    });
    expect(fakes.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('exits 2 when a full name or ARN of another stage contradicts --stage, starting nothing', async () => {
    // Act
    const byName = await run(['--stage', 'prod', 'run', 'smhost-dev-batch-transform', '--input', join(dir, 'transform.json')], fakes.factory);
    const byArn = await run(['--stage', 'prod', 'run', machineArn('smhost-dev-batch-transform'), '--input', join(dir, 'transform.json')], fakes.factory);
    const agreeing = await run(['--stage', 'dev', 'run', 'smhost-dev-batch-transform', '--input', join(dir, 'transform.json')], fakes.factory);

    // Assess
    expect([byName.code, byArn.code, agreeing.code]).toEqual([2, 2, 0]);
    expect(byName.stderr()).toBe(
      'smhost: invalid state-machine "smhost-dev-batch-transform": is the batch-transform machine of stage "dev", but --stage is "prod"; ' +
        'give the workflow name (batch-transform) to run stage "prod"\'s, or leave out --stage\n',
    );
    expect(byArn.stderr()).toContain('is the batch-transform machine of stage "dev", but --stage is "prod"');
    expect(fakes.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('starts a state machine given by its ARN', async () => {
    // Act
    const result = await run(['run', machineArn('smhost-prod-deploy-pipeline-model'), '--input', deployInput], fakes.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(fakes.sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn).toBe(machineArn('smhost-prod-deploy-pipeline-model'));
  });

  it('prints failed tasks a Retry or Catch handled as handled (dim on a terminal), and an uncaught one as the failure', async () => {
    // Prepare: a first deployment (the endpoint it looks for is missing, caught), a throttled poll (retried),
    // then a conditional write nothing catches.
    fakes.sfn.on(GetExecutionHistoryCommand).resolves(
      history(
        { id: 1, type: 'ExecutionStarted' },
        { id: 2, previousEventId: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'FindEndpoint' } },
        { id: 3, previousEventId: 2, type: 'TaskScheduled' },
        {
          id: 4,
          previousEventId: 3,
          type: 'TaskFailed',
          taskFailedEventDetails: {
            resourceType: 'aws-sdk:sagemaker',
            resource: 'describeEndpoint',
            error: 'SageMaker.ValidationException',
            cause: 'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/iris-pipeline". (Service: SageMaker, Status Code: 400, Request ID: 7c3f)',
          },
        },
        { id: 5, previousEventId: 4, type: 'TaskStateExited', stateExitedEventDetails: { name: 'FindEndpoint' } },
        { id: 6, previousEventId: 5, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'DescribeEndpoint' } },
        { id: 7, previousEventId: 6, type: 'TaskScheduled' },
        {
          id: 8,
          previousEventId: 7,
          type: 'TaskFailed',
          taskFailedEventDetails: { resourceType: 'aws-sdk:sagemaker', resource: 'describeEndpoint', error: 'SageMaker.ThrottlingException', cause: 'Rate exceeded (Service: SageMaker, Status Code: 400, Request ID: 1)' },
        },
        { id: 9, previousEventId: 8, type: 'TaskScheduled' },
        { id: 10, previousEventId: 9, type: 'TaskSucceeded', taskSucceededEventDetails: { resourceType: 'aws-sdk:sagemaker', resource: 'describeEndpoint', output: '{"EndpointName":"iris-pipeline","EndpointStatus":"InService"}' } },
        { id: 11, previousEventId: 10, type: 'TaskStateExited', stateExitedEventDetails: { name: 'DescribeEndpoint' } },
        { id: 12, previousEventId: 11, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'RecordEndpoint' } },
        { id: 13, previousEventId: 12, type: 'TaskScheduled' },
        {
          id: 14,
          previousEventId: 13,
          type: 'TaskFailed',
          taskFailedEventDetails: { resourceType: 'aws-sdk:dynamodb', resource: 'putItem', error: 'DynamoDB.AccessDeniedException', cause: 'not authorized to perform dynamodb:PutItem' },
        },
        { id: 15, previousEventId: 14, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'DynamoDB.AccessDeniedException', cause: 'not authorized to perform dynamodb:PutItem' } },
      ),
    );

    // Act
    const plain = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait'], fakes.factory);
    const terminal = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait'], fakes.factory, { stderrIsTTY: true });
    const noColor = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait'], fakes.factory, { stderrIsTTY: true, env: { NO_COLOR: '1' } });

    // Assess
    expect(plain.code).toBe(1);
    expect(plain.stderr().split('\n')).toEqual([
      `started ${EXECUTION}`,
      '→ FindEndpoint',
      '  FindEndpoint: endpoint iris-pipeline does not exist yet (SageMaker.ValidationException), handled by its Catch',
      '→ DescribeEndpoint',
      '  DescribeEndpoint: Rate exceeded (SageMaker.ThrottlingException), retrying',
      '  endpoint iris-pipeline: InService',
      '→ RecordEndpoint',
      '  RecordEndpoint failed: DynamoDB.AccessDeniedException: not authorized to perform dynamodb:PutItem',
      'failed: DynamoDB.AccessDeniedException: not authorized to perform dynamodb:PutItem',
      'smhost: execution failed: DynamoDB.AccessDeniedException: not authorized to perform dynamodb:PutItem',
      '',
    ]);
    expect(terminal.stderr()).toContain(
      '\u001b[2m  FindEndpoint: endpoint iris-pipeline does not exist yet (SageMaker.ValidationException), handled by its Catch\u001b[22m\n',
    );
    expect(terminal.stderr()).toContain('\n  RecordEndpoint failed: DynamoDB.AccessDeniedException');
    expect(terminal.stderr().match(/\u001b\[2m/g)).toHaveLength(2);
    expect(noColor.stderr()).toBe(plain.stderr());
  });

  it('on Ctrl-C while following, exits 130 saying the execution goes on and how to stop it', async () => {
    // Prepare
    const interrupts = manualInterrupts();
    fakes.sfn.on(GetExecutionHistoryCommand).callsFake(async () => {
      interrupts.fire();
      return history({ id: 1, type: 'ExecutionStarted' }, { id: 2, previousEventId: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'WaitForEndpoint' } });
    });

    // Act
    const result = await run(
      ['--endpoint-url', 'http://127.0.0.1:4566', 'run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--poll', '30', '--json'],
      fakes.factory,
      { interrupts },
    );

    // Assess
    expect(result.code).toBe(130);
    const stop = `aws stepfunctions stop-execution --execution-arn ${EXECUTION} --endpoint-url http://127.0.0.1:4566`;
    expect(result.stderr()).toContain(`smhost: interrupted; stopped following the execution (it goes on: ${EXECUTION}; to stop it: ${stop})`);
    expect(JSON.parse(result.stdout()).error).toMatchObject({ name: 'InterruptedError', exitCode: 130, executionArn: EXECUTION });
    expect(fakes.sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(1);
    expect(interrupts.listening()).toBe(0);
  });

  it('listens for Ctrl-C only while following an execution', async () => {
    // Prepare
    const interrupts = manualInterrupts();
    let listeningDuringStart = -1;
    fakes.sfn.on(StartExecutionCommand).callsFake(async () => {
      listeningDuringStart = interrupts.listening();
      return { executionArn: EXECUTION, startDate: new Date() };
    });

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', deployInput], fakes.factory, { interrupts });

    // Assess
    expect(result.code).toBe(0);
    expect(listeningDuringStart).toBe(0);
    expect(interrupts.listening()).toBe(0);
  });

  it('exits 2 naming every bad field of the input, before calling Step Functions', async () => {
    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', badInput, '--json'], fakes.factory);

    // Assess
    expect(result.code).toBe(2);
    const error = JSON.parse(result.stdout()).error;
    expect(error.name).toBe('WorkflowInputRefusedError');
    expect(error.message).toMatch(/^invalid --input ".*bad\.json": deploy-pipeline-model input is invalid: /);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { field: 'colour', message: 'is not a known field' },
        expect.objectContaining({ field: 'containers[0].image' }),
      ]),
    );
    expect(fakes.sfn.calls()).toHaveLength(0);
  });

  it('exits 2 for a missing, unreadable or non-JSON input file and for bad options, naming each', async () => {
    // Act
    const results = await Promise.all([
      run(['run', 'deploy-pipeline-model'], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', join(dir, 'missing.json')], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', join(dir, 'not-json.json')], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', dir], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', deployInput, '--timeout', '60'], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--timeout', 'soon'], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', deployInput, '--wait', '--timeout', '-1'], fakes.factory),
      run(['run', 'deploy-pipeline-model', '--input', deployInput, '--name', 'ci run/42'], fakes.factory),
      run(['run', ' ', '--input', deployInput], fakes.factory),
    ]);

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(results.map((r) => r.stderr().trim())).toEqual([
      'smhost: invalid --input: is required: the JSON file with the execution input',
      `smhost: invalid --input ${JSON.stringify(join(dir, 'missing.json'))}: no such file`,
      expect.stringMatching(/^smhost: invalid --input ".*not-json\.json": is not a JSON document \(/),
      `smhost: invalid --input ${JSON.stringify(dir)}: is a directory, not a JSON file`,
      'smhost: invalid --timeout: needs --wait (it bounds the wait)',
      'smhost: invalid --timeout "soon": must be a positive number of seconds, such as 30 or 0.5',
      'smhost: invalid --timeout "-1": must be a positive number of seconds, such as 30 or 0.5',
      'smhost: invalid --name "ci run/42": must not contain " " (no whitespace, brackets, wildcards, control characters or any of " # % \\ ^ | ~ ` $ & , ; : /)',
      'smhost: invalid state-machine: must not be empty',
    ]);
    expect(fakes.sfn.calls()).toHaveLength(0);
  });

  it('says "is required" for a field the input lacks', async () => {
    // Act
    const result = await run(['run', 'batch-transform', '--input', join(dir, 'partial-transform.json'), '--json'], fakes.factory);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr()).toMatch(/^smhost: invalid --input ".*partial-transform\.json": batch-transform input is invalid: data: is required; outputPath: is required\n$/);
    expect(JSON.parse(result.stdout()).error.problems).toEqual([
      { field: 'data', message: 'is required' },
      { field: 'outputPath', message: 'is required' },
    ]);
  });

  it('exits 1 when the execution name is taken by an ended execution or another input', async () => {
    // Prepare
    fakes.sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', deployInput, '--name', 'ci-42'], fakes.factory);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr()).toContain('smhost: an execution named "ci-42" already exists (it has ended, or it ran with another input); pick another --name');
  });
});

describe('Function: parseExecutionName', () => {
  it('accepts the names Step Functions accepts and refuses the others, naming the character', () => {
    // Act / Assess
    expect(parseExecutionName('release-2024.05.01_rc1')).toBe('release-2024.05.01_rc1');
    expect(() => parseExecutionName('')).toThrow('invalid --name "": must be 1-80 characters');
    expect(() => parseExecutionName('x'.repeat(81))).toThrow(/must be 1-80 characters/);
    for (const bad of ['a b', 'a:b', 'a/b', 'a*b', 'a[b', 'a$b', 'a\u0007b']) {
      expect(() => parseExecutionName(bad)).toThrow(/must not contain/);
    }
  });
});
