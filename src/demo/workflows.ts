/**
 * Runs one of the project's state machines on the local Step Functions the way CI does (`smhost run`):
 * start, follow the history printing each state and the endpoint's status, and fail with the execution's
 * error and cause.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import { runExecution } from '../workflows/run-execution';

export class WorkflowFailedError extends Error {
  constructor(workflow: string, status: string, error?: string, cause?: string) {
    super(`${workflow} ended ${status}${error ? `: ${error}` : ''}${cause ? ` (${cause})` : ''}`);
    this.name = 'WorkflowFailedError';
  }
}

export async function runWorkflow(
  sfn: SFNClient,
  stateMachine: string,
  input: unknown,
  progress: (line: string) => void,
  timeoutSeconds = 120,
): Promise<Record<string, any>> {
  const outcome = await runExecution(sfn, { stateMachine, input, wait: true, timeoutSeconds, pollIntervalMs: 100 }, (line) => progress(line));
  if (outcome.status !== 'SUCCEEDED') throw new WorkflowFailedError(stateMachine, outcome.status, outcome.error, outcome.cause);
  return (outcome.output ?? {}) as Record<string, any>;
}
