/**
 * The pipeline part of the demo: three containers in series (scaler → classifier → label decoder)
 * deployed by `deploy-pipeline-model`, invoked with raw measurements to get species names back, registered
 * as a model package by `register-model-package`, then used by `batch-transform` to score a CSV in S3.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeModelPackageCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { IrisSplit, PipelineModels } from './iris-models';
import { accuracy, runChainDirect } from './onnx-reference';
import { check, type DemoRun } from './steps';
import { runWorkflow } from './workflows';

export interface PipelineDemoContext {
  s3: S3Client;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  sfn: SFNClient;
  bucket: string;
  stackPrefix: string;
  endpoint: string;
  image: string;
  split: IrisSplit;
  models: PipelineModels;
  accuracyFloor: number;
}

const STAGES = ['scaler', 'classifier', 'decoder'] as const;

export async function pipelineSteps(run: DemoRun, ctx: PipelineDemoContext): Promise<void> {
  const graphs = STAGES.map((stage) => ctx.models[stage].onnx);
  const expectedLabels = ctx.split.test.labels.map((label) => ctx.split.classNames[label]!);
  const containers: Array<{ image: string; modelDataUrl: string; containerHostname: string }> = [];
  let modelName = '';

  await run.step(`Deploy a three-container serial pipeline ${ctx.endpoint} with deploy-pipeline-model`, async (progress) => {
    for (const stage of STAGES) {
      const key = `pipelines/iris/${stage}/model.tar.gz`;
      await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: key, Body: ctx.models[stage].archive }));
      containers.push({ image: ctx.image, modelDataUrl: `s3://${ctx.bucket}/${key}`, containerHostname: stage });
    }
    const output = await runWorkflow(
      ctx.sfn,
      `${ctx.stackPrefix}-deploy-pipeline-model`,
      { endpointName: ctx.endpoint, instanceType: 'ml.m5.large', containers, inferenceExecutionMode: 'Serial' },
      progress,
    );
    modelName = output.modelName;
    const endpoint = await ctx.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ctx.endpoint }));
    check(endpoint.EndpointStatus === 'InService', `endpoint is ${endpoint.EndpointStatus}`);
    return { verified: `InService; model ${modelName} runs ${STAGES.join(' → ')}` };
  });

  await run.step('Invoke the pipeline with raw measurements, get species names back', async (progress) => {
    const answer = await ctx.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: ctx.endpoint,
        ContentType: 'text/csv',
        Accept: 'application/json',
        Body: Buffer.from(ctx.split.test.rows.map((row) => row.join(',')).join('\n')),
      }),
    );
    const labels = (JSON.parse(Buffer.from(answer.Body!).toString('utf8')) as { predictions: string[] }).predictions.map(String);
    const direct = await runChainDirect(graphs, ctx.split.test.rows);
    check(JSON.stringify(labels) === JSON.stringify(direct), 'the pipeline answers differently from the three graphs run one after another');
    const score = accuracy(labels, expectedLabels);
    check(score >= ctx.accuracyFloor, `accuracy ${score.toFixed(3)} is below ${ctx.accuracyFloor}`);
    progress(`${JSON.stringify(ctx.split.test.rows[0])} → ${labels[0]}; ${labels.length} rows, accuracy ${score.toFixed(3)} (floor ${ctx.accuracyFloor})`);
    return { verified: `${labels.length} rows labelled exactly as the graphs run in series; accuracy ${score.toFixed(3)}` };
  });

  await run.step('Register the pipeline as a model package with register-model-package', async (progress) => {
    const output = await runWorkflow(
      ctx.sfn,
      `${ctx.stackPrefix}-register-model-package`,
      {
        modelPackageGroupName: 'iris-pipeline',
        modelPackageGroupDescription: 'Iris: scaler, softmax classifier and label decoder',
        containers,
        contentTypes: ['text/csv', 'application/json'],
        responseTypes: ['application/json', 'text/csv'],
        inferenceInstances: ['ml.m5.large'],
        transformInstances: ['ml.m5.large'],
        approvalStatus: 'Approved',
        description: 'Registered by npm run demo',
        customerMetadataProperties: { trainedOn: `${ctx.split.train.rows.length} Iris rows` },
      },
      progress,
    );
    const arn = String(output.modelPackageArn);
    const described = await ctx.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    check(described.ModelApprovalStatus === 'Approved', `package is ${described.ModelApprovalStatus}`);
    check(described.InferenceSpecification?.Containers?.length === 3, 'the package does not hold the three containers');
    return { verified: `${arn} (Approved, 3 containers)` };
  });

  await run.step('Score a CSV in S3 with batch-transform and read the .out file back', async (progress) => {
    const rows = ctx.split.test.rows;
    await ctx.s3.send(
      new PutObjectCommand({ Bucket: ctx.bucket, Key: 'batch/input/iris-held-out.csv', Body: rows.map((row) => row.join(',')).join('\n') + '\n' }),
    );
    const scheduledTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const output = await runWorkflow(
      ctx.sfn,
      `${ctx.stackPrefix}-batch-transform`,
      {
        modelName,
        data: `s3://${ctx.bucket}/batch/input/`,
        outputPath: `s3://${ctx.bucket}/batch/output`,
        instanceType: 'ml.m5.large',
        contentType: 'text/csv',
        splitType: 'Line',
        strategy: 'MultiRecord',
        accept: 'text/csv',
        assembleWith: 'Line',
        scheduledTime,
      },
      progress,
    );
    const keys = output.outputKeys as string[];
    check(keys.length === 1 && keys[0]!.endsWith('/iris-held-out.csv.out'), `unexpected outputs ${JSON.stringify(keys)}`);
    const object = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: keys[0] }));
    const labels = (await object.Body!.transformToString()).split('\n').filter((line) => line !== '');
    const direct = await runChainDirect(graphs, rows);
    check(JSON.stringify(labels) === JSON.stringify(direct), 'the transform output differs from the graphs run in series');
    const score = accuracy(labels, expectedLabels);
    check(score >= ctx.accuracyFloor, `accuracy ${score.toFixed(3)} is below ${ctx.accuracyFloor}`);
    progress(`${labels.length} records scored into s3://${ctx.bucket}/${keys[0]}`);
    return { verified: `${labels.length} records scored under ${output.outputPath}; accuracy ${score.toFixed(3)}` };
  });
}
