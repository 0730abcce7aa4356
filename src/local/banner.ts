/**
 * What `npm run local` prints once every service answers: where the state is, the names a user types
 * (bucket, table, queues, state machines), the clock speed, and the environment to export in another shell.
 * The `export` lines are meant to be pasted as they are, so they use only the standard variables that both
 * AWS CLI versions, boto3 and the SDKs read.
 */
import { stateMachineArn } from './stepfunctions/arns';
import type { LocalStack } from './stack';

/** The facts the banner states; a subset of `LocalStack`, so a test can build one without starting a stack. */
export type BannerFacts = Pick<LocalStack, 'url' | 'region' | 'accountId' | 'timeScale' | 'dataDir' | 'ephemeral' | 'names'> & {
  /** The services that answered the readiness probe. */
  services: readonly string[];
  /** Names of the state machines of serverless.yml. */
  stateMachines: readonly string[];
};

/** How many times faster than AWS the local clock runs, as a user reads it (`100×`, `2.5×`, `real time`). */
export function describeTimeScale(scale: number): string {
  if (scale === 1) return 'real time';
  const factor = 1 / scale;
  const rounded = Number.isInteger(factor) ? String(factor) : factor.toPrecision(3).replace(/\.?0+$/, '');
  return scale < 1 ? `${rounded}× faster than AWS` : `${scale}× slower than AWS`;
}

/** The banner's lines, in print order; the last is `ready: <url>`, printed only once everything answers. */
export function startupBanner(facts: BannerFacts): string[] {
  const lines = [
    `[local] services: ${facts.services.join(', ')}; data: ${facts.ephemeral ? `ephemeral (${facts.dataDir}, removed at stop)` : facts.dataDir}`,
    `[local] bucket ${facts.names.bucket}, table ${facts.names.registryTable}, queue ${facts.names.queue} (DLQ ${facts.names.deadLetterQueue})`,
  ];
  if (facts.stateMachines.length > 0) {
    lines.push(`[local] state machines: ${facts.stateMachines.join(', ')}`);
    lines.push(`[local] state machine ARNs: ${stateMachineArn({ region: facts.region, accountId: facts.accountId }, '<name>')}`);
  }
  lines.push(
    `[local] time scale ${facts.timeScale} (${describeTimeScale(facts.timeScale)}): endpoint provisioning, Wait states, retries and queue timeouts; --time-scale 1 for AWS's pace`,
    `export AWS_ENDPOINT_URL=${facts.url}`,
    `export AWS_REGION=${facts.region} AWS_DEFAULT_REGION=${facts.region}`,
    'export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local',
    `ready: ${facts.url}`,
  );
  return lines;
}
