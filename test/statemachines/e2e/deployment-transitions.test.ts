/**
 * What a real deployment costs in state transitions (Step Functions bills each state entered), counted
 * from GetExecutionHistory of deploy-pipeline-model run from its real file against the emulator, whose
 * instances take 10 emulated minutes to provision. The count is held to the model
 * bench/deploy-transitions.bench.ts prints: the states before the wait, four per poll of the growing
 * schedule until the poll that sees the endpoint in service, and the final state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { DEFAULT_ENDPOINT_WAIT, pollIntervals, pollTimes } from '../../../src/workflows/endpoint-wait';
import { ONNX_IMAGE, uploadIris } from '../../local/sagemaker/support';
import { startE2eStack, statesEntered, type E2eStack } from './support';

/** One scale for Wait states and the emulator: 600 emulated seconds of provisioning are 3 real seconds. */
const TIME_SCALE = 0.005;
const PROVISIONING_SECONDS = 600;
/** Issue 6: a deployment whose endpoint takes 10 minutes costs at most 40 transitions. */
const BUDGET = 40;
/** Prepare, FindEndpoint, ChooseModelSource, CreateModel, CreateEndpointConfig, CreateOrUpdateEndpoint, CreateEndpoint. */
const STATES_BEFORE_WAIT = 7;
/** ScheduleNextPoll, WaitForEndpoint, DescribeEndpoint, CheckEndpointStatus. */
const STATES_PER_POLL = 4;

let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: TIME_SCALE, provisioningSeconds: PROVISIONING_SECONDS });
});

afterAll(async () => {
  await stack?.close();
});

/**
 * The transitions the bench's model gives for an endpoint that is in service after `creationSeconds`: on
 * the growing schedule, or with the bench's baseline loop (Wait 30 s → DescribeEndpoint → Choice, no
 * schedule step, so three states a poll) when `fixedSeconds` is given.
 */
function modelTransitions(creationSeconds: number, fixedSeconds?: number): number {
  if (fixedSeconds) return STATES_BEFORE_WAIT + (STATES_PER_POLL - 1) * Math.ceil(creationSeconds / fixedSeconds) + 1;
  const polls = pollTimes(pollIntervals(DEFAULT_ENDPOINT_WAIT)).findIndex((t) => t >= creationSeconds) + 1;
  return STATES_BEFORE_WAIT + STATES_PER_POLL * polls + 1;
}

describe('State machine: deploy-pipeline-model (transitions of a real deployment)', () => {
  it('deploys an endpoint that takes over 10 emulated minutes within the transition budget the growing poll interval promises', async () => {
    // Prepare
    const urls = await uploadIris(stack.sagemaker, 'transitions');
    const input = {
      endpointName: 'iris-ten-minutes',
      instanceType: 'ml.m5.large',
      containers: [
        { image: ONNX_IMAGE, modelDataUrl: urls.scaler },
        { image: ONNX_IMAGE, modelDataUrl: urls.classifier },
        { image: ONNX_IMAGE, modelDataUrl: urls.decoder },
      ],
    };

    // Act
    const run = await stack.execute('deploy-pipeline-model', input);

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-ten-minutes' }));
    const creationSeconds = (endpoint.LastModifiedTime!.getTime() - endpoint.CreationTime!.getTime()) / 1000 / TIME_SCALE;
    const entered = statesEntered(run.history);
    const polls = entered.filter((state) => state === 'DescribeEndpoint').length;
    const statuses = run.history
      .filter((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.resource === 'describeEndpoint')
      .map((e) => JSON.parse(e.taskSucceededEventDetails!.output!).EndpointStatus);
    const figures = `${entered.length} transitions, ${polls} polls, creation ${Math.round(creationSeconds)} emulated s (model: ${modelTransitions(creationSeconds)}; fixed 30 s poll: ${modelTransitions(creationSeconds, 30)})`;
    expect(creationSeconds, figures).toBeGreaterThanOrEqual(PROVISIONING_SECONDS);
    expect(statuses.slice(0, -1).every((status) => status === 'Creating'), figures).toBe(true);
    expect(statuses.at(-1)).toBe('InService');
    expect(entered.length, figures).toBe(STATES_BEFORE_WAIT + STATES_PER_POLL * polls + 1);
    expect(entered.length, figures).toBeLessThanOrEqual(modelTransitions(creationSeconds));
    expect(entered.length, figures).toBeLessThan(modelTransitions(creationSeconds, 30));
    // The growing schedule's eighth poll comes at 1224 s: any creation up to there is within the budget.
    if (creationSeconds <= 1224) expect(entered.length, figures).toBeLessThanOrEqual(BUDGET);
  });
});
