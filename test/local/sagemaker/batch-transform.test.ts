import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  StopTransformJobCommand,
  type CreateTransformJobCommandInput,
  type DescribeTransformJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { errorName } from '../../../src/aws/errors';
import { BUCKET, irisModels, ONNX_IMAGE, ROLE, startStack, uploadIris, waitForEndpoint, type TestStack } from './support';

let stack: TestStack;
let rows: number[][];

const csv = (data: number[][]) => data.map((r) => r.join(',')).join('\n') + '\n';

async function model(name: string, urls: string[]) {
  await stack.sagemaker.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: ROLE,
      ...(urls.length === 1
        ? { PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: urls[0] } }
        : { Containers: urls.map((url, i) => ({ ContainerHostname: `c${i + 1}`, Image: ONNX_IMAGE, ModelDataUrl: url })) }),
    }),
  );
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: name, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  await waitForEndpoint(stack.sagemaker, name, ['InService']);
}

/** The reference: each record invoked alone on an endpoint of the same model. */
async function oneByOne(endpoint: string, records: string[], contentType: string, accept: string): Promise<string[]> {
  const answers: string[] = [];
  for (const record of records) {
    const answer = await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: contentType, Accept: accept, Body: Buffer.from(record) }));
    answers.push(Buffer.from(answer.Body!).toString('utf8').replace(/\n$/, ''));
  }
  return answers;
}

function job(name: string, modelName: string, input: string, output: string, extra: Partial<CreateTransformJobCommandInput> = {}): CreateTransformJobCommandInput {
  return {
    TransformJobName: name,
    ModelName: modelName,
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input } }, ContentType: 'text/csv', SplitType: 'Line' },
    TransformOutput: { S3OutputPath: output, Accept: 'text/csv', AssembleWith: 'Line' },
    TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    ...extra,
  };
}

async function run(input: CreateTransformJobCommandInput): Promise<{ final: DescribeTransformJobCommandOutput; seen: string[] }> {
  await stack.sagemaker.send(new CreateTransformJobCommand(input));
  const seen: string[] = [];
  for (;;) {
    const d = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: input.TransformJobName }));
    if (seen[seen.length - 1] !== d.TransformJobStatus) seen.push(d.TransformJobStatus!);
    if (['Completed', 'Failed', 'Stopped'].includes(d.TransformJobStatus!)) return { final: d, seen };
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function text(key: string): Promise<string> {
  const got = await stack.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray()).toString('utf8');
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

const lines = (body: string) => body.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  stack = await startStack();
  rows = (await irisModels()).rows;
  const urls = await uploadIris(stack);
  await model('scaler', [urls.scaler]);
  await model('pipeline', [urls.scaler, urls.classifier, urls.decoder]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('Function: CreateTransformJob (running)', () => {
  it('transforms line-split CSV with MultiRecord batches, writing <output>/<relative key>.out equal to one-by-one invocations', async () => {
    // Prepare: two objects under the prefix, one in a sub-folder
    await stack.put('in/csv/a.csv', csv(rows.slice(0, 100)));
    await stack.put('in/csv/sub/b.csv', csv(rows.slice(100)));
    const reference = await oneByOne('scaler', rows.map((r) => r.join(',')), 'text/csv', 'text/csv');

    // Act
    const { final, seen } = await run(
      job('csv-multi', 'scaler', `s3://${BUCKET}/in/csv/`, `s3://${BUCKET}/out/csv`, { BatchStrategy: 'MultiRecord', MaxPayloadInMB: 1, MaxConcurrentTransforms: 2 }),
    );

    // Assess
    expect(final.FailureReason).toBeUndefined();
    expect(seen).toEqual(['InProgress', 'Completed']);
    expect(final.TransformEndTime).toBeInstanceOf(Date);
    expect(await keys('out/csv/')).toEqual(['out/csv/a.csv.out', 'out/csv/sub/b.csv.out']);
    expect([...lines(await text('out/csv/a.csv.out')), ...lines(await text('out/csv/sub/b.csv.out'))]).toEqual(reference);
  });

  it('reads gzip input with SingleRecord through a serial pipeline, as the pipeline endpoint answers', async () => {
    // Prepare
    const records = rows.slice(0, 20).map((r) => r.join(','));
    await stack.put('in/gz/rows.csv.gz', gzipSync(csv(rows.slice(0, 20))));
    const reference = await oneByOne('pipeline', records, 'text/csv', 'text/csv');

    // Act
    const { final } = await run(
      job('gz-single', 'pipeline', `s3://${BUCKET}/in/gz/rows`, `s3://${BUCKET}/out/gz/`, {
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/in/gz/rows` } }, ContentType: 'text/csv', SplitType: 'Line', CompressionType: 'Gzip' },
        BatchStrategy: 'SingleRecord',
        Environment: { SMHOST_NOTE: 'set for every container' },
      }),
    );

    // Assess
    expect(final.TransformJobStatus).toBe('Completed');
    expect(lines(await text('out/gz/rows.csv.gz.out'))).toEqual(reference);
    expect(reference.slice(0, 2)).toEqual(['setosa', 'setosa']);
  });

  it('reads the objects a manifest lists, keeping their relative keys', async () => {
    // Prepare
    await stack.put('data/x/one.csv', csv(rows.slice(0, 3)));
    await stack.put('data/x/two.csv', csv(rows.slice(3, 5)));
    await stack.put('data/x/ignored.csv', csv(rows.slice(5, 6)));
    await stack.put('manifests/m.json', JSON.stringify([{ prefix: `s3://${BUCKET}/data/` }, 'x/one.csv', 'x/two.csv']));
    const reference = await oneByOne('scaler', rows.slice(0, 5).map((r) => r.join(',')), 'text/csv', 'text/csv');

    // Act
    const { final } = await run(
      job('manifest', 'scaler', '', `s3://${BUCKET}/out/manifest`, {
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'ManifestFile', S3Uri: `s3://${BUCKET}/manifests/m.json` } }, ContentType: 'text/csv', SplitType: 'Line' },
      }),
    );

    // Assess
    expect(final.TransformJobStatus).toBe('Completed');
    expect(await keys('out/manifest/')).toEqual(['out/manifest/x/one.csv.out', 'out/manifest/x/two.csv.out']);
    expect([...lines(await text('out/manifest/x/one.csv.out')), ...lines(await text('out/manifest/x/two.csv.out'))]).toEqual(reference);
  });

  it('filters the input, joins each prediction with its input record and filters the joined record (CSV and JSON)', async () => {
    // Prepare: an id column the model must not see
    const withIds = rows.slice(0, 12).map((r, i) => [`id-${i}`, ...r].join(','));
    await stack.put('in/join/ids.csv', withIds.join('\n') + '\n');
    const jsonRecords = rows.slice(0, 4).map((r, i) => JSON.stringify({ id: i, instances: [r] }));
    await stack.put('in/json/records.jsonl', jsonRecords.join('\n') + '\n');
    const predicted = await oneByOne('scaler', rows.slice(0, 12).map((r) => r.join(',')), 'text/csv', 'text/csv');
    const predictedJson = await oneByOne('scaler', jsonRecords, 'application/json', 'application/json');

    // Act
    const csvJob = await run(
      job('join-csv', 'scaler', `s3://${BUCKET}/in/join/`, `s3://${BUCKET}/out/join/`, {
        BatchStrategy: 'MultiRecord',
        DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
      }),
    );
    const jsonJob = await run(
      job('join-json', 'scaler', `s3://${BUCKET}/in/json/`, `s3://${BUCKET}/out/json/`, {
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/in/json/` } }, ContentType: 'application/json', SplitType: 'Line' },
        TransformOutput: { S3OutputPath: `s3://${BUCKET}/out/json/`, Accept: 'application/json', AssembleWith: 'Line' },
        BatchStrategy: 'SingleRecord',
        DataProcessing: { JoinSource: 'Input', OutputFilter: "$['id','SageMakerOutput']" },
      }),
    );

    // Assess
    expect(csvJob.final.TransformJobStatus).toBe('Completed');
    expect(lines(await text('out/join/ids.csv.out'))).toEqual(withIds.map((line, i) => `${line.split(',')[0]},${predicted[i]!.split(',').at(-1)}`));
    expect(jsonJob.final.TransformJobStatus).toBe('Completed');
    expect(lines(await text('out/json/records.jsonl.out')).map((l) => JSON.parse(l) as unknown)).toEqual(predictedJson.map((p, i) => [i, JSON.parse(p) as unknown]));
  });

  it('stops a job: Stopping, then Stopped, with nothing written', async () => {
    // Prepare
    await stack.put('in/stop/a.csv', csv(rows));
    await stack.sagemaker.send(new CreateTransformJobCommand(job('stop-me', 'scaler', `s3://${BUCKET}/in/stop/`, `s3://${BUCKET}/out/stop/`)));

    // Act
    await stack.sagemaker.send(new StopTransformJobCommand({ TransformJobName: 'stop-me' }));
    const seen: string[] = [];
    for (;;) {
      const d = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'stop-me' }));
      if (seen[seen.length - 1] !== d.TransformJobStatus) seen.push(d.TransformJobStatus!);
      if (d.TransformJobStatus === 'Stopped') break;
      await new Promise((r) => setTimeout(r, 10));
    }

    // Assess
    expect(seen[seen.length - 1]).toBe('Stopped');
    expect(seen.every((s) => s === 'Stopping' || s === 'Stopped')).toBe(true);
    expect(await keys('out/stop/')).toEqual([]);
  });

  it('fails with a reason naming the object: a container error on one batch, a record over the payload limit, binary data; other objects and empty files are written', async () => {
    // Prepare
    await stack.put('in/mixed/good.csv', csv(rows.slice(0, 5)));
    await stack.put('in/mixed/empty.csv', '');
    await stack.put('in/mixed/bad.csv', `${csv(rows.slice(0, 3))}not,a,number,row\n`);
    await stack.put('in/big/huge.csv', `${'1,'.repeat(600_000)}1\n`);
    await stack.put('in/binary/blob.bin', Buffer.from([0, 159, 146, 150, 255, 10, 1, 2]));

    // Act
    const mixed = await run(job('mixed', 'scaler', `s3://${BUCKET}/in/mixed/`, `s3://${BUCKET}/out/mixed/`, { ModelClientConfig: { InvocationsMaxRetries: 1, InvocationsTimeoutInSeconds: 30 } }));
    const big = await run(job('too-big', 'scaler', `s3://${BUCKET}/in/big/`, `s3://${BUCKET}/out/big/`, { MaxPayloadInMB: 1 }));
    const binary = await run(
      job('binary', 'scaler', `s3://${BUCKET}/in/binary/`, `s3://${BUCKET}/out/binary/`, {
        TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/in/binary/` } }, ContentType: 'application/x-image', SplitType: 'None' },
        ModelClientConfig: { InvocationsMaxRetries: 0 },
      }),
    );
    const nothing = await run(job('nothing', 'scaler', `s3://${BUCKET}/in/absent/`, `s3://${BUCKET}/out/absent/`));

    // Assess
    expect(mixed.final.TransformJobStatus).toBe('Failed');
    expect(mixed.final.FailureReason).toMatch(/^1 of 3 input object\(s\) failed\. s3:\/\/models\/in\/mixed\/bad\.csv: ClientError: The model failed on .*bad\.csv \(records 1-4\) after 2 attempt\(s\): container primary answered 400: .*must be a number, got "not"/);
    expect(await keys('out/mixed/')).toEqual(['out/mixed/empty.csv.out', 'out/mixed/good.csv.out']);
    expect(await text('out/mixed/empty.csv.out')).toBe('');
    expect(lines(await text('out/mixed/good.csv.out'))).toHaveLength(5);
    expect(big.final.FailureReason).toMatch(/Record 1 of s3:\/\/models\/in\/big\/huge\.csv is 1200002 bytes, over MaxPayloadInMB \(1 MB\)/);
    expect(binary.final.FailureReason).toMatch(/blob\.bin .*after 1 attempt\(s\): container primary answered 415/);
    expect(nothing.final.FailureReason).toMatch(/^ClientError: No S3 objects found under S3 URL "s3:\/\/models\/in\/absent\/"/);
  });

  it('refuses filters outside the JSONPath subset and payload settings over 100 MB, naming the field', async () => {
    // Act
    const deep = await stack.sagemaker
      .send(new CreateTransformJobCommand(job('deep', 'scaler', `s3://${BUCKET}/in/csv/`, `s3://${BUCKET}/out/x/`, { DataProcessing: { InputFilter: '$..a' } })))
      .catch((e: unknown) => e as Error);
    const over = await stack.sagemaker
      .send(new CreateTransformJobCommand(job('over', 'scaler', `s3://${BUCKET}/in/csv/`, `s3://${BUCKET}/out/x/`, { MaxPayloadInMB: 50, MaxConcurrentTransforms: 3 })))
      .catch((e: unknown) => e as Error);
    const retries = await stack.sagemaker
      .send(new CreateTransformJobCommand(job('retries', 'scaler', `s3://${BUCKET}/in/csv/`, `s3://${BUCKET}/out/x/`, { ModelClientConfig: { InvocationsMaxRetries: 9 } })))
      .catch((e: unknown) => e as Error);

    // Assess
    expect(errorName(deep)).toBe('ValidationException');
    expect((deep as Error).message).toMatch(/DataProcessing\.InputFilter: JSONPath "\$\.\.a" at character 2: deep scan/);
    expect((over as Error).message).toMatch(/MaxConcurrentTransforms \(3\) times MaxPayloadInMB \(50\) must not exceed 100 MB/);
    expect(errorName(retries)).toBe('ValidationException');
    expect((retries as Error).message).toMatch(/invocationsMaxRetries/i);
  });
});
