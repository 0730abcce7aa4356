import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { errorName } from '../../../src/aws/errors';
import { asl, history, ROLE_ARN, runToEnd, startSfn, type SfnHarness } from './support';

const passMachine = {
  StartAt: 'Greet',
  States: {
    Greet: { Type: 'Pass', Parameters: { 'greeting.$': "States.Format('hello {}', $.who)", 'execution.$': '$$.Execution.Name' }, Next: 'Route' },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.greeting', StringEquals: 'hello nobody', Next: 'Refuse' }],
      Default: 'Done',
    },
    Refuse: { Type: 'Fail', Error: 'Greeting.Refused', Cause: 'nobody to greet' },
    Done: { Type: 'Succeed' },
  },
};

const waitMachine = (seconds: number) => ({
  StartAt: 'Pause',
  States: { Pause: { Type: 'Wait', Seconds: seconds, Next: 'After' }, After: { Type: 'Pass', Result: 'waited', End: true } },
});

let harness: SfnHarness;
let passArn: string;

beforeAll(async () => {
  harness = await startSfn();
  const created = await harness.sfn.send(new CreateStateMachineCommand({ name: 'greeter', definition: asl(passMachine), roleArn: ROLE_ARN }));
  passArn = created.stateMachineArn!;
});

afterAll(async () => {
  await harness?.close();
});

async function failure(promise: Promise<unknown>): Promise<{ name: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: errorName(error), message: (error as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('Function: createStepFunctionsService (state machines)', () => {
  it('creates, describes and lists a state machine with AWS ARNs', async () => {
    // Act
    const described = await harness.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: passArn }));
    const listed = await harness.sfn.send(new ListStateMachinesCommand({}));

    // Assess
    expect(passArn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:greeter');
    expect(described).toMatchObject({ name: 'greeter', status: 'ACTIVE', type: 'STANDARD', roleArn: ROLE_ARN, definition: asl(passMachine) });
    expect(described.creationDate).toBeInstanceOf(Date);
    expect(listed.stateMachines?.map((m) => m.name)).toContain('greeter');
  });

  it('creates the same state machine again idempotently and refuses a different one under the same name', async () => {
    // Act
    const again = await harness.sfn.send(new CreateStateMachineCommand({ name: 'greeter', definition: asl(passMachine), roleArn: ROLE_ARN }));
    const conflict = await failure(harness.sfn.send(new CreateStateMachineCommand({ name: 'greeter', definition: asl(waitMachine(1)), roleArn: ROLE_ARN })));

    // Assess
    expect(again.stateMachineArn).toBe(passArn);
    expect(conflict.name).toBe('StateMachineAlreadyExists');
  });

  it('refuses bad definitions, names, role ARNs and types with AWS error names', async () => {
    // Prepare
    const create = (input: Record<string, unknown>) =>
      failure(harness.sfn.send(new CreateStateMachineCommand({ name: 'bad', definition: asl(passMachine), roleArn: ROLE_ARN, ...input })));

    // Act
    const notJson = await create({ definition: '{not json' });
    const missingState = await create({ definition: asl({ StartAt: 'Nowhere', States: { A: { Type: 'Pass', End: true } } }) });
    const duplicate = await create({
      definition: asl({
        StartAt: 'Fan',
        States: {
          Fan: { Type: 'Parallel', Branches: [{ StartAt: 'Fan', States: { Fan: { Type: 'Pass', End: true } } }], End: true },
        },
      }),
    });
    const jsonata = await create({ definition: asl({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }) });
    const badName = await create({ name: 'has space' });
    const badRole = await create({ roleArn: 'not-a-role' });
    const express = await create({ type: 'EXPRESS' });

    // Assess
    expect(notJson).toMatchObject({ name: 'InvalidDefinition', message: expect.stringContaining('INVALID_JSON_DESCRIPTION') });
    expect(missingState.name).toBe('InvalidDefinition');
    expect(duplicate).toMatchObject({ name: 'InvalidDefinition', message: expect.stringMatching(/DUPLICATE_STATE_NAME.*Fan/) });
    expect(jsonata).toMatchObject({ name: 'InvalidDefinition', message: expect.stringContaining('JSONPath') });
    expect(badName).toMatchObject({ name: 'InvalidName', message: expect.stringContaining('has space') });
    expect(badRole).toMatchObject({ name: 'InvalidArn', message: expect.stringContaining('roleArn') });
    expect(express.name).toBe('StateMachineTypeNotSupported');
  });

  it('updates and deletes a state machine, and answers StateMachineDoesNotExist afterwards', async () => {
    // Prepare
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'short-lived', definition: asl(waitMachine(1)), roleArn: ROLE_ARN }));

    // Act
    await harness.sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition: asl(waitMachine(2)) }));
    const updated = await harness.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    await harness.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    const gone = await failure(harness.sfn.send(new DescribeStateMachineCommand({ stateMachineArn })));
    const badArn = await failure(harness.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:activity:x' })));

    // Assess
    expect(JSON.parse(updated.definition!).States.Pause.Seconds).toBe(2);
    expect(gone.name).toBe('StateMachineDoesNotExist');
    expect(badArn).toMatchObject({ name: 'InvalidArn', message: expect.stringContaining('stateMachineArn') });
  });
});

describe('Function: createStepFunctionsService (executions)', () => {
  it('runs an execution to success, with the context object and DescribeExecution in AWS shape', async () => {
    // Act
    const described = await runToEnd(harness, passArn, { who: 'world' }, 'first-run');

    // Assess
    expect(described).toMatchObject({
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:greeter:first-run',
      stateMachineArn: passArn,
      name: 'first-run',
      status: 'SUCCEEDED',
      input: '{"who":"world"}',
    });
    expect(JSON.parse(described.output!)).toEqual({ greeting: 'hello world', execution: 'first-run' });
    expect(described.stopDate!.getTime()).toBeGreaterThanOrEqual(described.startDate!.getTime());
  });

  it('fails an execution at a Fail state with its error and cause, in the description and the history', async () => {
    // Act
    const described = await runToEnd(harness, passArn, { who: 'nobody' });
    const events = await history(harness.sfn, described.executionArn!);

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'Greeting.Refused', cause: 'nobody to greet' });
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(events[1]!.previousEventId).toBe(1);
    expect(events[0]!.executionStartedEventDetails).toEqual({ input: '{"who":"nobody"}', inputDetails: { truncated: false }, roleArn: ROLE_ARN });
    expect(events[1]!.stateEnteredEventDetails).toMatchObject({ name: 'Greet', input: '{"who":"nobody"}' });
    expect(JSON.parse(events[2]!.stateExitedEventDetails!.output!)).toMatchObject({ greeting: 'hello nobody' });
    expect(events[6]!.executionFailedEventDetails).toEqual({ error: 'Greeting.Refused', cause: 'nobody to greet' });
    expect(events[0]!.timestamp).toBeInstanceOf(Date);
  });

  it('refuses a second execution of the same name, unless it is the same running request', async () => {
    // Prepare
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'waiter', definition: asl(waitMachine(100)), roleArn: ROLE_ARN }));
    const first = await harness.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' }));

    // Act
    const retried = await harness.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' }));
    const different = await failure(harness.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":2}' })));
    await harness.server.service.waitForExecution(first.executionArn!);
    const afterEnd = await failure(harness.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'once', input: '{"a":1}' })));

    // Assess
    expect(retried.executionArn).toBe(first.executionArn);
    expect(different.name).toBe('ExecutionAlreadyExists');
    expect(afterEnd.name).toBe('ExecutionAlreadyExists');
  });

  it('refuses input that is not JSON, unknown executions and malformed ARNs', async () => {
    // Act
    const badInput = await failure(harness.sfn.send(new StartExecutionCommand({ stateMachineArn: passArn, input: '{oops' })));
    const missingMachine = await failure(
      harness.sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:absent' })),
    );
    const missingExecution = await failure(
      harness.sfn.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:greeter:absent' })),
    );
    const badArn = await failure(harness.sfn.send(new DescribeExecutionCommand({ executionArn: 'execution:greeter' })));
    const badName = await failure(harness.sfn.send(new StartExecutionCommand({ stateMachineArn: passArn, name: 'a/b' })));

    // Assess
    expect(badInput).toMatchObject({ name: 'InvalidExecutionInput', message: expect.stringContaining('not JSON') });
    expect(missingMachine.name).toBe('StateMachineDoesNotExist');
    expect(missingExecution.name).toBe('ExecutionDoesNotExist');
    expect(badArn).toMatchObject({ name: 'InvalidArn', message: expect.stringContaining('executionArn') });
    expect(badName.name).toBe('InvalidName');
  });

  it('refuses a request body over 2 MiB with ValidationException, still answering on the connection', async () => {
    // Act
    const tooLarge = await failure(harness.sfn.send(new StartExecutionCommand({ stateMachineArn: passArn, input: JSON.stringify({ big: 'x'.repeat(3 * 1024 ** 2) }) })));
    const next = await harness.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: passArn }));

    // Assess
    expect(tooLarge).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('larger than 2097152 bytes') });
    expect(next.name).toBe('greeter');
  });

  it('runs Wait states on the time scale (100 s at 0.01 take about 1 s)', async () => {
    // Prepare
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'wait-100', definition: asl(waitMachine(100)), roleArn: ROLE_ARN }));
    const started = Date.now();

    // Act
    const described = await runToEnd(harness, stateMachineArn!, {});
    const elapsed = Date.now() - started;
    const events = await history(harness.sfn, described.executionArn!);

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5000);
    expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'WaitStateExited', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded']);
  });

  it('takes a Wait duration from SecondsPath and refuses a negative one with States.Runtime', async () => {
    // Prepare
    const definition = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', SecondsPath: '$.seconds', End: true } } };
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'wait-path', definition: asl(definition), roleArn: ROLE_ARN }));

    // Act
    const ok = await runToEnd(harness, stateMachineArn!, { seconds: 10 });
    const negative = await runToEnd(harness, stateMachineArn!, { seconds: -1 });

    // Assess
    expect(ok).toMatchObject({ status: 'SUCCEEDED', output: '{"seconds":10}' });
    expect(negative).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: expect.stringContaining('non-negative integer') });
  });

  it('stops a waiting execution with StopExecution: ABORTED with the given error and cause', async () => {
    // Prepare
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'long-wait', definition: asl(waitMachine(100_000)), roleArn: ROLE_ARN }));
    const { executionArn } = await harness.sfn.send(new StartExecutionCommand({ stateMachineArn }));

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    await harness.sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator.Stop', cause: 'not needed any more' }));
    await harness.server.service.waitForExecution(executionArn!);
    const described = await harness.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await history(harness.sfn, executionArn!);

    // Assess
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator.Stop', cause: 'not needed any more' });
    expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'WaitStateEntered', 'ExecutionAborted']);
    expect(events[2]!.executionAbortedEventDetails).toEqual({ error: 'Operator.Stop', cause: 'not needed any more' });
  });

  it('lists executions newest first, filtered by status, in pages', async () => {
    // Prepare
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'listed', definition: asl(passMachine), roleArn: ROLE_ARN }));
    for (const [index, who] of ['a', 'nobody', 'b'].entries()) await runToEnd(harness, stateMachineArn!, { who }, `run-${index}`);

    // Act
    const all = await harness.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    const failed = await harness.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED' }));
    const first = await harness.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 2 }));
    const second = await harness.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 2, nextToken: first.nextToken }));
    const badToken = await failure(harness.sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken: 'garbage' })));

    // Assess
    expect(all.executions?.map((e) => e.name)).toEqual(['run-2', 'run-1', 'run-0']);
    expect(failed.executions?.map((e) => e.name)).toEqual(['run-1']);
    expect(first.executions).toHaveLength(2);
    expect(second.executions?.map((e) => e.name)).toEqual(['run-0']);
    expect(second.nextToken).toBeUndefined();
    expect(badToken.name).toBe('InvalidToken');
  });

  it('answers GetExecutionHistory in reverse and without execution data when asked', async () => {
    // Prepare
    const described = await runToEnd(harness, passArn, { who: 'history' });

    // Act
    const reversed = await harness.sfn.send(new GetExecutionHistoryCommand({ executionArn: described.executionArn, reverseOrder: true }));
    const bare = await harness.sfn.send(new GetExecutionHistoryCommand({ executionArn: described.executionArn, includeExecutionData: false }));

    // Assess
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
    expect(bare.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
    expect(bare.events?.[0]?.executionStartedEventDetails?.roleArn).toBe(ROLE_ARN);
  });

  it('records Map iterations and their states in the history', async () => {
    // Prepare
    const definition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemSelector: { 'value.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
          ItemProcessor: { StartAt: 'Double', States: { Double: { Type: 'Pass', Parameters: { 'doubled.$': 'States.MathAdd($.value, $.value)' }, End: true } } },
          End: true,
        },
      },
    };
    const { stateMachineArn } = await harness.sfn.send(new CreateStateMachineCommand({ name: 'mapper', definition: asl(definition), roleArn: ROLE_ARN }));

    // Act
    const described = await runToEnd(harness, stateMachineArn!, { items: [1, 2] });
    const types = (await history(harness.sfn, described.executionArn!)).map((e) => e.type);

    // Assess
    expect(JSON.parse(described.output!)).toEqual([{ doubled: 2 }, { doubled: 4 }]);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types[1]).toBe('MapStateEntered');
    expect(types.filter((t) => t === 'MapIterationStarted')).toHaveLength(2);
    expect(types.filter((t) => t === 'MapIterationSucceeded')).toHaveLength(2);
    expect(types.filter((t) => t === 'PassStateEntered')).toHaveLength(2);
    expect(types.slice(-3)).toEqual(['MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']);
  });
});

describe('Function: createStepFunctionsService (data dir)', () => {
  it('keeps state machines and finished executions across a restart, and aborts executions in flight', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'sfn-data-'));
    try {
      const first = await startSfn({ dataDir });
      const { stateMachineArn } = await first.sfn.send(new CreateStateMachineCommand({ name: 'kept', definition: asl(passMachine), roleArn: ROLE_ARN }));
      const finished = await runToEnd(first, stateMachineArn!, { who: 'again' }, 'finished');
      const { stateMachineArn: waitArn } = await first.sfn.send(new CreateStateMachineCommand({ name: 'in-flight', definition: asl(waitMachine(100_000)), roleArn: ROLE_ARN }));
      const { executionArn: inFlight } = await first.sfn.send(new StartExecutionCommand({ stateMachineArn: waitArn, name: 'interrupted' }));
      await first.close();

      // Act
      const second = await startSfn({ dataDir });
      const machine = await second.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
      const kept = await second.sfn.send(new DescribeExecutionCommand({ executionArn: finished.executionArn }));
      const interrupted = await second.sfn.send(new DescribeExecutionCommand({ executionArn: inFlight }));
      const events = await history(second.sfn, finished.executionArn!);
      await second.close();

      // Assess
      expect(machine.name).toBe('kept');
      expect(kept).toMatchObject({ status: 'SUCCEEDED', output: finished.output });
      expect(kept.startDate).toEqual(finished.startDate);
      expect(interrupted).toMatchObject({ status: 'ABORTED', cause: expect.stringContaining('do not survive a restart') });
      expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
