import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetExecutionHistoryCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StateMachineNotFoundError, findStateMachine, runExecution } from '../../src/workflows/run-execution';
import { WorkflowInputError } from '../../src/workflows/workflow-schemas';
import { MINIMAL_INPUTS } from './sample-inputs';

const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:smhost-dev-deploy-pipeline-model';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:smhost-dev-deploy-pipeline-model:run-1';

function listMachines() {
  sfnMock.on(ListStateMachinesCommand).resolvesOnce({
    stateMachines: [{ name: 'smhost-dev-batch-transform', stateMachineArn: 'arn:bt', type: 'STANDARD', creationDate: new Date() }],
    nextToken: 'page-2',
  }).resolvesOnce({
    stateMachines: [{ name: 'smhost-dev-deploy-pipeline-model', stateMachineArn: ARN, type: 'STANDARD', creationDate: new Date() }],
  });
}

afterEach(() => sfnMock.reset());

describe('Function: runExecution', () => {
  it('starts the execution found by its full name and follows it to success, printing states and endpoint statuses', async () => {
    // Prepare
    listMachines();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const when = new Date();
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          { id: 1, timestamp: when, type: 'ExecutionStarted' },
          { id: 2, timestamp: when, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Prepare' } },
          { id: 3, timestamp: when, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'DescribeEndpoint' } },
          {
            id: 4,
            timestamp: when,
            type: 'TaskSucceeded',
            taskSucceededEventDetails: { resourceType: 'aws-sdk:sagemaker', resource: 'describeEndpoint', output: '{"EndpointName":"iris-pipeline","EndpointStatus":"Creating"}' },
          },
        ],
      })
      .resolvesOnce({
        events: [
          { id: 1, timestamp: when, type: 'ExecutionStarted' },
          { id: 5, timestamp: when, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{"endpointName":"iris-pipeline"}' } },
        ],
      });
    const lines: string[] = [];

    // Act
    const outcome = await runExecution(sfn, { stateMachine: 'smhost-dev-deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], wait: true, pollIntervalMs: 1 }, (l) => lines.push(l));

    // Assess
    expect(outcome).toEqual({ status: 'SUCCEEDED', stateMachineArn: ARN, executionArn: EXECUTION, output: { endpointName: 'iris-pipeline' } });
    expect(lines).toEqual([`started ${EXECUTION}`, '→ Prepare', '→ DescribeEndpoint', '  endpoint iris-pipeline: Creating', 'succeeded']);
    expect(JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual(MINIMAL_INPUTS['deploy-pipeline-model']);
  });

  it('returns the error and cause of a failed execution', async () => {
    // Prepare
    listMachines();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [{ id: 9, timestamp: new Date(), type: 'ExecutionFailed', executionFailedEventDetails: { error: 'EndpointFailedError', cause: 'the endpoint is Failed: no model' } }],
    });
    const lines: string[] = [];

    // Act
    const outcome = await runExecution(sfn, { stateMachine: 'smhost-dev-deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], wait: true, pollIntervalMs: 1 }, (l) => lines.push(l));

    // Assess
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'EndpointFailedError', cause: 'the endpoint is Failed: no model' });
    expect(lines.at(-1)).toBe('failed: EndpointFailedError: the endpoint is Failed: no model');
  });

  it('prints a failure its Catch handled as handled, in plain words, not as an error', async () => {
    // Prepare: a first deployment looks for the endpoint it is about to create.
    listMachines();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const when = new Date();
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 2, timestamp: when, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'FindEndpoint' } },
        { id: 3, timestamp: when, type: 'TaskFailed', previousEventId: 2, taskFailedEventDetails: { resourceType: 'aws-sdk:sagemaker', resource: 'describeEndpoint', error: 'SageMaker.ValidationException', cause: 'Could not find endpoint "iris-pipeline".' } },
        { id: 4, timestamp: when, type: 'TaskStateExited', previousEventId: 3, stateExitedEventDetails: { name: 'FindEndpoint' } },
        { id: 5, timestamp: when, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: '{}' } },
      ],
    });
    const lines: string[] = [];

    // Act
    await runExecution(sfn, { stateMachine: 'smhost-dev-deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], wait: true, pollIntervalMs: 1 }, (l) => lines.push(l));

    // Assess
    expect(lines).toEqual([
      `started ${EXECUTION}`,
      '→ FindEndpoint',
      '  FindEndpoint: endpoint iris-pipeline does not exist yet (SageMaker.ValidationException), handled by its Catch',
      'succeeded',
    ]);
  });

  it('refuses a bad input before calling Step Functions', async () => {
    // Act
    const run = runExecution(sfn, { stateMachine: 'deploy-pipeline-model', input: { endpointName: 'x' }, wait: true }, () => {});

    // Assess
    await expect(run).rejects.toThrow(WorkflowInputError);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('returns right after the start without --wait, the machine named by its ARN', async () => {
    // Prepare
    listMachines();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });

    // Act
    const outcome = await runExecution(sfn, { stateMachine: ARN, input: MINIMAL_INPUTS['deploy-pipeline-model'], executionName: 'ci-7' }, () => {});

    // Assess
    expect(outcome.status).toBe('STARTED');
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.name).toBe('ci-7');
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);
  });

  it('stops following after the timeout and says the execution goes on', async () => {
    // Prepare
    listMachines();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [{ id: 1, timestamp: new Date(), type: 'ExecutionStarted' }] });
    const lines: string[] = [];

    // Act
    const outcome = await runExecution(sfn, { stateMachine: 'smhost-dev-deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], wait: true, timeoutSeconds: 0, pollIntervalMs: 1 }, (l) => lines.push(l));

    // Assess
    expect(outcome.status).toBe('STILL_RUNNING');
    expect(lines.at(-1)).toMatch(/stopped following/);
  });
});

describe('Function: findStateMachine', () => {
  it('finds a machine by its exact name or ARN only: a workflow name never picks one of several stages', async () => {
    // Prepare
    sfnMock.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        { name: 'smhost-dev-batch-transform', stateMachineArn: 'arn:a', type: 'STANDARD', creationDate: new Date() },
        { name: 'smhost-prod-batch-transform', stateMachineArn: 'arn:b', type: 'STANDARD', creationDate: new Date() },
      ],
    });

    // Act / Assess
    await expect(findStateMachine(sfn, 'nothing')).rejects.toThrow(StateMachineNotFoundError);
    await expect(findStateMachine(sfn, 'batch-transform')).rejects.toThrow('no state machine is called "batch-transform"');
    await expect(findStateMachine(sfn, 'smhost-prod-batch-transform')).resolves.toBe('arn:b');
    await expect(findStateMachine(sfn, 'arn:a')).resolves.toBe('arn:a');
  });
});
