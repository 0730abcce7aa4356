import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { HistoryNarrator, type ProgressLine } from '../../src/workflows/history-narrator';

function readAll(narrator: HistoryNarrator, events: Omit<HistoryEvent, 'timestamp'>[]): ProgressLine[] {
  return events.flatMap((event) => narrator.read({ timestamp: new Date(), ...event } as HistoryEvent).lines);
}

describe('Function: HistoryNarrator.read', () => {
  it('words the failures the project state machines expect in plain words once their Catch takes them', () => {
    // Prepare
    const narrator = new HistoryNarrator();

    // Act
    const lines = readAll(narrator, [
      { id: 1, previousEventId: 0, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'FindModelPackageGroup' } },
      {
        id: 2,
        previousEventId: 1,
        type: 'TaskFailed',
        taskFailedEventDetails: {
          resourceType: 'aws-sdk:sagemaker',
          resource: 'describeModelPackageGroup',
          error: 'SageMaker.ValidationException',
          cause: 'ModelPackageGroup iris-pipeline does not exist. (Service: SageMaker, Status Code: 400, Request ID: 9fda)',
        },
      },
      { id: 3, previousEventId: 2, type: 'TaskStateExited', stateExitedEventDetails: { name: 'FindModelPackageGroup' } },
      { id: 4, previousEventId: 3, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'RecordEndpoint' } },
      {
        id: 5,
        previousEventId: 4,
        type: 'TaskFailed',
        taskFailedEventDetails: {
          resourceType: 'aws-sdk:dynamodb',
          resource: 'putItem',
          error: 'DynamoDB.ConditionalCheckFailedException',
          cause: 'The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: C0DA; Proxy: null)',
        },
      },
      { id: 6, previousEventId: 5, type: 'TaskStateExited', stateExitedEventDetails: { name: 'RecordEndpoint' } },
      { id: 7, previousEventId: 6, type: 'PassStateEntered', stateEnteredEventDetails: { name: 'EndpointAlreadyRecorded' } },
    ]);

    // Assess
    expect(lines).toEqual([
      { kind: 'step', text: '→ FindModelPackageGroup' },
      { kind: 'handled', text: '  FindModelPackageGroup: model package group iris-pipeline does not exist yet (SageMaker.ValidationException), handled by its Catch' },
      { kind: 'step', text: '→ RecordEndpoint' },
      { kind: 'handled', text: '  RecordEndpoint: the conditional write found the record already in place (DynamoDB.ConditionalCheckFailedException), handled by its Catch' },
      { kind: 'step', text: '→ EndpointAlreadyRecorded' },
    ]);
  });

  it('shortens an unknown cause that is handled, and keeps the whole cause of one nothing handled', () => {
    // Prepare
    const narrator = new HistoryNarrator();
    const cause = 'Model is busy (Service: SageMaker, Status Code: 400, Request ID: 12 (retry 1))';

    // Act
    const lines = readAll(narrator, [
      { id: 1, previousEventId: 0, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Warm' } },
      { id: 2, previousEventId: 1, type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: 'Busy', cause } },
      { id: 3, previousEventId: 2, type: 'LambdaFunctionScheduled' },
      { id: 4, previousEventId: 3, type: 'LambdaFunctionTimedOut', lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout', cause: 'took 60 s' } },
      { id: 5, previousEventId: 4, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'States.Timeout', cause: 'took 60 s' } },
    ]);

    // Assess
    expect(lines).toEqual([
      { kind: 'step', text: '→ Warm' },
      { kind: 'handled', text: '  Warm: Model is busy (Busy), retrying' },
      { kind: 'failure', text: '  Warm failed: States.Timeout: took 60 s' },
      { kind: 'step', text: 'failed: States.Timeout: took 60 s' },
    ]);
  });

  it('holds a failure until the history tells its fate, following previousEventId across interleaved branches', () => {
    // Prepare
    const narrator = new HistoryNarrator();

    // Act
    const first = readAll(narrator, [
      { id: 1, previousEventId: 0, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'BranchA' } },
      { id: 2, previousEventId: 0, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'BranchB' } },
      { id: 3, previousEventId: 1, type: 'TaskFailed', taskFailedEventDetails: { resourceType: 'x', resource: 'y', error: 'A.Error', cause: 'a broke' } },
      { id: 4, previousEventId: 2, type: 'TaskSucceeded', taskSucceededEventDetails: { resourceType: 'x', resource: 'y', output: '{}' } },
    ]);
    const pending = narrator.unresolved();
    const later = readAll(narrator, [{ id: 5, previousEventId: 3, type: 'TaskScheduled' }]);

    // Assess
    expect(first.map((line) => line.text)).toEqual(['→ BranchA', '→ BranchB']);
    expect(pending).toEqual([{ kind: 'failure', text: '  BranchA: A.Error: a broke (no retry or catch seen yet)' }]);
    expect(later).toEqual([{ kind: 'handled', text: '  BranchA: a broke (A.Error), retrying' }]);
    expect(narrator.unresolved()).toEqual([]);
  });

  it('links a failure to the next event when the history carries no previousEventId', () => {
    // Prepare
    const narrator = new HistoryNarrator();

    // Act
    const lines = readAll(narrator, [
      { id: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'FindEndpoint' } },
      { id: 2, type: 'TaskFailed', taskFailedEventDetails: { resourceType: 'x', resource: 'y', error: 'SageMaker.ValidationException', cause: 'Could not find endpoint "ep1".' } },
      { id: 3, type: 'TaskStateExited', stateExitedEventDetails: { name: 'FindEndpoint' } },
    ]);

    // Assess
    expect(lines.at(-1)).toEqual({ kind: 'handled', text: '  FindEndpoint: endpoint ep1 does not exist yet (SageMaker.ValidationException), handled by its Catch' });
  });

  it('ends on the execution events, with the output, error and cause', () => {
    // Prepare
    const narrator = new HistoryNarrator();

    // Act
    const succeeded = narrator.read({ id: 1, type: 'ExecutionSucceeded', timestamp: new Date(), executionSucceededEventDetails: { output: '{"a":1}' } });
    const aborted = new HistoryNarrator().read({ id: 1, type: 'ExecutionAborted', timestamp: new Date() });

    // Assess
    expect(succeeded).toEqual({ lines: [{ kind: 'step', text: 'succeeded' }], end: { status: 'SUCCEEDED', output: { a: 1 } } });
    expect(aborted.end).toEqual({ status: 'ABORTED' });
    expect(aborted.lines).toEqual([{ kind: 'step', text: 'aborted' }]);
  });
});
