/**
 * State transitions a deployment costs (Step Functions bills by them) when the endpoint takes a given
 * time to come into service: the project's deploy-pipeline-model file with its growing poll interval,
 * against the same file rewritten to the common fixed 30-second Wait → DescribeEndpoint → Choice loop.
 * Both run on aws-local-stepfunctions with a simulated SageMaker; transitions are the states entered.
 *
 *   npx tsx bench/run.ts deploy-transitions
 */
import { DEFAULT_ENDPOINT_WAIT, pollIntervals, pollTimes } from '../src/workflows/endpoint-wait';
import { FakeAws } from '../test/statemachines/fake-aws';
import { loadDefinition, runStateMachine } from '../test/statemachines/run-state-machine';
import { MINIMAL_INPUTS, TEST_ENVIRONMENT } from '../test/workflows/sample-inputs';

const FIXED_POLL_SECONDS = 30;
const BUDGET = 40;

/** The same state machine with the classic loop: a fixed 30 s Wait, no schedule step. */
function fixedPollDefinition(): Record<string, any> {
  const definition = structuredClone(loadDefinition('deploy-pipeline-model'));
  const states = definition.States;
  delete states.ScheduleNextPoll;
  delete states.ExplainWaitTimeout;
  states.CreateEndpoint.Next = 'WaitForEndpoint';
  states.UpdateEndpoint.Next = 'WaitForEndpoint';
  // A deployment confirmed after a lost answer joins the loop where the schedule step was.
  for (const choice of states.CheckEndpointDeployment.Choices as { Next: string }[]) {
    if (choice.Next === 'ScheduleNextPoll') choice.Next = 'WaitForEndpoint';
  }
  states.WaitForEndpoint = { Type: 'Wait', Seconds: FIXED_POLL_SECONDS, Next: 'DescribeEndpoint' };
  states.CheckEndpointStatus.Default = 'WaitForEndpoint';
  states.CheckEndpointStatus.Choices = states.CheckEndpointStatus.Choices.filter(
    (choice: { Next: string }) => choice.Next !== 'ExplainWaitTimeout',
  );
  return definition;
}

async function transitions(creationSeconds: number, definition?: Record<string, any>): Promise<number> {
  const aws = new FakeAws(TEST_ENVIRONMENT);
  aws.endpointScript = { settleAfterSeconds: creationSeconds, outcome: 'InService' };
  // The fixed loop's simulated clock must tick by 30 s too: give Prepare a matching schedule.
  const input = definition
    ? { ...MINIMAL_INPUTS['deploy-pipeline-model'], wait: { initialSeconds: FIXED_POLL_SECONDS, growthFactor: 1, maxSeconds: FIXED_POLL_SECONDS, timeoutSeconds: 7200 } }
    : MINIMAL_INPUTS['deploy-pipeline-model'];
  const run = await runStateMachine('deploy-pipeline-model', input, aws, definition);
  if (run.error) throw new Error(`deployment failed: ${run.error.name}: ${run.error.cause}`);
  return run.entered.length;
}

const schedule = pollTimes(pollIntervals(DEFAULT_ENDPOINT_WAIT));
const fixed = fixedPollDefinition();
console.log(`growing schedule (s): ${pollIntervals(DEFAULT_ENDPOINT_WAIT).slice(0, 8).join(', ')}, ... (default wait settings)`);
console.log('creation | fixed 30 s poll | growing interval | ratio | seen after (growing) | seen after (fixed)');
let withinBudget = true;
for (const minutes of [2, 5, 10, 15, 20, 30]) {
  const seconds = minutes * 60;
  const baseline = await transitions(seconds, fixed);
  const ours = await transitions(seconds);
  const seenGrowing = schedule.find((t) => t >= seconds)!;
  const seenFixed = Math.ceil(seconds / FIXED_POLL_SECONDS) * FIXED_POLL_SECONDS;
  if (minutes === 10 && ours > BUDGET) withinBudget = false;
  console.log(
    `${String(minutes).padStart(5)} min | ${String(baseline).padStart(15)} | ${String(ours).padStart(16)} | ${(ours / baseline).toFixed(2).padStart(5)} | ${String(seenGrowing).padStart(18)} s | ${String(seenFixed).padStart(16)} s`,
  );
}
console.log(withinBudget ? `10-minute creation within the ${BUDGET}-transition budget` : `OVER the ${BUDGET}-transition budget`);
process.exit(withinBudget ? 0 : 1);
