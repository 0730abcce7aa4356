import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/main';

describe('Function: runDemo', () => {
  it('runs every step of the demo on the local stack and verifies each result', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const run = await runDemo((line) => lines.push(line));

    // Assess
    expect(run.records.map((r) => r.ok)).toEqual(run.records.map(() => true));
    expect(run.records.map((r) => r.name)).toEqual([
      'Train Iris classifiers and package them as model.tar.gz',
      'Start the local stack (S3, DynamoDB, SQS, SageMaker, the Lambda handler)',
      'Drop 3 artifacts into incoming/iris-mme/',
      'Refuse hostile uploads, and keep them',
      'Upload a new version of iris-petal',
      'Roll back iris-petal by uploading the old content',
    ]);
    expect(lines.join('\n')).toMatch(/parent-traversal/);
    expect(run.summary()).toMatch(/total/);
  }, 120_000);
});
