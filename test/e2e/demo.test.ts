import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/main';

describe('Function: runDemo', () => {
  it('runs the whole mission on the local stack and verifies every step', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const run = await runDemo((line) => lines.push(line));

    // Assess
    expect(run.records.filter((r) => !r.ok)).toEqual([]);
    expect(run.records.map((r) => r.name)).toEqual([
      'Train Iris models and package them as model.tar.gz',
      'Start the local stack (S3, DynamoDB, SQS, SageMaker, Step Functions, the Lambdas)',
      'Deploy multi-model endpoint iris-mme with deploy-multi-model-endpoint',
      'Drop 3 artifacts into incoming/iris-mme/',
      'Invoke each model through its TargetModel on held-out rows',
      'Refuse hostile uploads, and keep them',
      'Drop a new version of iris-petal',
      'Roll back iris-petal by uploading the old content',
      'Deploy a three-container serial pipeline iris-pipeline with deploy-pipeline-model',
      'Invoke the pipeline with raw measurements, get species names back',
      'Register the pipeline as a model package with register-model-package',
      'Score a CSV in S3 with batch-transform and read the .out file back',
    ]);
    const output = lines.join('\n');
    // What each step verified, in its own words: warm-up, exact answers, refusal rules, the package and the transform.
    expect(output).toMatch(/3 registered, current and warmed up/);
    expect(output).toMatch(/3 models answer exactly as onnxruntime does/);
    expect(output).toMatch(/parent-traversal/);
    expect(output).toMatch(/model-package\/iris-pipeline\/1 \(Approved, 3 containers\)/);
    expect(output).toMatch(/30 records scored under s3:\/\/.*\/batch\/output\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\//);
    expect(output).toMatch(/endpoint iris-pipeline: InService/);
  }, 180_000);
});
