import { describe, expect, it } from 'vitest';
import { stackNames } from '../../src/aws/stack-names';
import { describeTimeScale, startupBanner, type BannerFacts } from '../../src/local/banner';

function facts(overrides: Partial<BannerFacts> = {}): BannerFacts {
  return {
    url: 'http://127.0.0.1:4566',
    region: 'eu-west-1',
    accountId: '000000000000',
    timeScale: 0.01,
    dataDir: '/repo/.local',
    ephemeral: false,
    names: stackNames({ service: 'smhost', stage: 'dev', accountId: '000000000000', env: {} }),
    services: ['s3', 'dynamodb', 'sqs', 'sts', 'sagemaker', 'states'],
    stateMachines: ['smhost-dev-batch-transform'],
    ...overrides,
  };
}

describe('Function: startupBanner', () => {
  it('ends with the environment to export and the ready line, in the region of the stack', () => {
    // Act
    const lines = startupBanner(facts());

    // Assess
    expect(lines.slice(-4)).toEqual([
      'export AWS_ENDPOINT_URL=http://127.0.0.1:4566',
      'export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1',
      'export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local',
      'ready: http://127.0.0.1:4566',
    ]);
  });

  it('names the bucket, the table, the queues, the state machines with their ARN pattern, the data dir and the clock', () => {
    const lines = startupBanner(facts());
    expect(lines).toContain('[local] bucket smhost-dev-artifacts-000000000000, table smhost-dev-registry, queue smhost-dev-artifact-events (DLQ smhost-dev-artifact-events-dlq)');
    expect(lines).toContain('[local] state machines: smhost-dev-batch-transform');
    expect(lines).toContain('[local] state machine ARNs: arn:aws:states:eu-west-1:000000000000:stateMachine:<name>');
    expect(lines[0]).toBe('[local] services: s3, dynamodb, sqs, sts, sagemaker, states; data: /repo/.local');
    expect(lines.find((line) => line.includes('time scale'))).toMatch(/^\[local\] time scale 0\.01 \(100× faster than AWS\)/);
  });

  it('says an ephemeral data dir is removed at stop, and leaves out state machines when there are none', () => {
    const lines = startupBanner(facts({ ephemeral: true, dataDir: '/tmp/smhost-local-x', stateMachines: [] }));
    expect(lines[0]).toMatch(/data: ephemeral \(\/tmp\/smhost-local-x, removed at stop\)$/);
    expect(lines.some((line) => line.includes('state machine'))).toBe(false);
  });
});

describe('Function: describeTimeScale', () => {
  it('says how AWS time maps to local time', () => {
    expect(describeTimeScale(1)).toBe('real time');
    expect(describeTimeScale(0.01)).toBe('100× faster than AWS');
    expect(describeTimeScale(0.3)).toBe('3.33× faster than AWS');
    expect(describeTimeScale(2)).toBe('2× slower than AWS');
  });
});
