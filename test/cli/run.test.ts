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
import { mockedContext, run, stubRegistry } from './fakes';

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
    expect(result.stderr()).toContain(`smhost: execution still running after 0.2 s; stopped waiting (it goes on: ${EXECUTION})`);
    expect(fakes.sfn.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThan(1);
  });

  it('exits 3 when no state machine has the name', async () => {
    // Act
    const unknown = await run(['run', 'no-such-machine', '--input', deployInput], fakes.factory);

    // Assess
    expect(unknown.code).toBe(3);
    expect(unknown.stderr()).toContain('smhost: no state machine is called "no-such-machine" or ends in "-no-such-machine"');
    expect(fakes.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
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
      run(['run', 'deploy-pipeline-model', '--input', deployInput, '--name', 'ci run/42'], fakes.factory),
      run(['run', ' ', '--input', deployInput], fakes.factory),
    ]);

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(results.map((r) => r.stderr().trim())).toEqual([
      'smhost: invalid --input: is required: the JSON file with the execution input',
      `smhost: invalid --input ${JSON.stringify(join(dir, 'missing.json'))}: no such file`,
      expect.stringMatching(/^smhost: invalid --input ".*not-json\.json": is not a JSON document \(/),
      `smhost: invalid --input ${JSON.stringify(dir)}: is a directory, not a JSON file`,
      'smhost: invalid --timeout: needs --wait (it bounds the wait)',
      'smhost: invalid --timeout "soon": must be a number of seconds',
      'smhost: invalid --name "ci run/42": must not contain " " (no whitespace, brackets, wildcards, control characters or any of " # % \\ ^ | ~ ` $ & , ; : /)',
      'smhost: invalid state-machine: must not be empty',
    ]);
    expect(fakes.sfn.calls()).toHaveLength(0);
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
