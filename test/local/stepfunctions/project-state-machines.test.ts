import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, ListTransformJobsCommand } from '@aws-sdk/client-sagemaker';
import { parseS3Uri } from '../../../src/pipeline/transform-jobs';
import type { TransformRunner } from '../../../src/local/sagemaker';
import type { LocalStepFunctions } from '../../../src/local/stepfunctions';
import { ONNX_IMAGE, ROLE, startStack, uploadIris, type TestStack } from '../sagemaker/support';
import { startProjectStepFunctions } from './support';

const BUCKET = 'smhost-dev-artifacts-000000000000';
let sagemaker: TestStack;
let local: LocalStepFunctions;

/** Stands in for the emulator's job runner: writes one `.out` object under the job's output path and completes. */
const transformRunner: TransformRunner = async (job, _signal, update) => {
  const output = (job.TransformOutput as { S3OutputPath: string }).S3OutputPath;
  const { bucket, key } = parseS3Uri(output);
  await sagemaker.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key.replace(/\/?$/, '/')}rows.csv.out`, Body: '0.1\n0.9\n' }));
  update({ TransformJobStatus: 'Completed', TransformEndTime: Date.now() / 1000 });
};

beforeAll(async () => {
  sagemaker = await startStack({ transformRunner });
  await sagemaker.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const { scaler } = await uploadIris(sagemaker);
  await sagemaker.sagemaker.send(new CreateModelCommand({ ModelName: 'batch-transform-model', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: scaler } }));
  local = await startProjectStepFunctions(sagemaker);
});

afterAll(async () => {
  await local?.close();
  await sagemaker?.stop();
});

describe('Function: startLocalStepFunctions (the project serverless.yml)', () => {
  it('registers every state machine serverless.yml declares, under the names the CLI looks for', () => {
    // Act
    const names = local.stateMachines.map((machine) => machine.name).sort();

    // Assess
    expect(names).toEqual(['smhost-dev-batch-transform', 'smhost-dev-deploy-multi-model-endpoint', 'smhost-dev-deploy-pipeline-model', 'smhost-dev-register-model-package']);
  });

  it('runs batch-transform from its real file when its schedule fires: dated output path, .sync job, outputs listed', async () => {
    // Act
    const [fired] = await local.scheduler.triggerAll({ includeDisabled: true });
    const record = await local.service.waitForExecution(fired!.executionArn!);

    // Assess
    expect(record.status).toBe('SUCCEEDED');
    const output = JSON.parse(record.output!);
    const dated = `s3://${BUCKET}/batch/output/${fired!.scheduledTime.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-')}/`;
    expect(output.outputPath).toBe(dated);
    expect(output.transformJob).toMatchObject({ TransformJobStatus: 'Completed', ModelName: 'batch-transform-model' });
    expect(output.transformJob.TransformOutput.S3OutputPath).toBe(dated);
    expect(output.outputKeys).toEqual([`${parseS3Uri(dated).key}rows.csv.out`]);
    const types = record.events.map((event) => event.type);
    expect(types).toContain('TaskSubmitted');
  });

  it('refuses a bad input at the prepare step, before any job exists, with the field named', async () => {
    // Prepare
    const before = (await sagemaker.sagemaker.send(new ListTransformJobsCommand({}))).TransformJobSummaries?.length ?? 0;

    // Act
    const { executionArn } = local.service.startExecution({
      stateMachineArn: local.service.stateMachineArn('smhost-dev-batch-transform'),
      input: JSON.stringify({ modelName: 'batch-transform-model', data: 'not-an-s3-uri', outputPath: `s3://${BUCKET}/out/`, instanceType: 'ml.m5.large' }),
    });
    const record = await local.service.waitForExecution(executionArn);
    const after = (await sagemaker.sagemaker.send(new ListTransformJobsCommand({}))).TransformJobSummaries?.length ?? 0;

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('WorkflowInputError');
    expect(JSON.parse(record.cause!).errorMessage).toContain('data');
    expect(after).toBe(before);
  });
});
