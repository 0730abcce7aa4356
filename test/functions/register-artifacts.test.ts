/**
 * The registration Lambda end to end: AWS-shaped SQS events (bodies are S3 notifications) handed to
 * the real handler, real SDK clients against real s3rver and dynalite servers. SageMaker is mocked
 * (its emulator is tested elsewhere): endpoints answer `InService` and serve every model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent } from 'aws-lambda';
import { createHandler } from '../../functions/register-artifacts';
import { createS3Client } from '../../src/aws/clients';
import { DynamoRegistry } from '../../src/multimodel';
import { HOSTILE_ARCHIVES, tarGzBuffer, type HostileArchiveKind } from '../support/archives';
import {
  nextSequencer,
  s3EventRecord,
  s3NotificationBody,
  s3TestEventBody,
  sqsEvent,
  sqsEventForObjects,
  sqsRecord,
  type ObjectEventSpec,
} from '../support/s3-events';
import { useMultiModelHarness } from '../support/multimodel-harness';

const harness = useMultiModelHarness('fn');
const { runtimeMock } = harness;
const ep = () => harness.endpoint();
const context = { functionName: 'register-artifacts', awsRequestId: 'test' } as Context;
let handler: ReturnType<typeof createHandler>;

interface Uploaded extends ObjectEventSpec {
  eTag: string;
  size: number;
  bytes: Buffer;
}

async function drop(key: string, bytes: Buffer): Promise<Uploaded> {
  const put = await harness.aws.s3.send(new PutObjectCommand({ Bucket: harness.aws.bucket, Key: key, Body: bytes }));
  return { bucket: harness.aws.bucket, key, eTag: (put.ETag ?? '').replace(/"/g, ''), size: bytes.length, bytes, sequencer: nextSequencer() };
}

async function modelArchive(content: string): Promise<Buffer> {
  return tarGzBuffer([
    { name: 'model.onnx', content },
    { name: 'code/inference.py', content: 'def handler(): pass\n' },
  ]);
}

async function allKeys(): Promise<string[]> {
  const listed = await harness.aws.s3.send(new ListObjectsV2Command({ Bucket: harness.aws.bucket }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

async function bytesOf(key: string): Promise<{ bytes: Buffer; eTag: string }> {
  const object = await harness.aws.s3.send(new GetObjectCommand({ Bucket: harness.aws.bucket, Key: key }));
  return { bytes: Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()), eTag: (object.ETag ?? '').replace(/"/g, '') };
}

async function run(event: SQSEvent) {
  return handler(event, context);
}

beforeAll(() => {
  handler = createHandler({ deps: harness.deps, logger: new Logger({ serviceName: 'register-artifacts-test', logLevel: 'SILENT' }) });
});

describe('Function: handler (register-artifacts)', () => {
  it('registers N artifacts of one batch, each current under its own TargetModel', async () => {
    // Prepare
    const names = ['a', 'b', 'team/c', 'team/d/e'];
    const uploads = await Promise.all(names.map(async (name) => drop(`incoming/${ep()}/${name}.tar.gz`, await modelArchive(name))));

    // Act
    const response = await run(sqsEventForObjects(...uploads));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const models = await harness.registry.listModels(ep());
    expect(models.map((m) => m.model)).toEqual([...names].sort());
    for (const model of models) {
      expect(model.currentTargetModel).toBe(`${model.model}/${model.currentVersion}.tar.gz`);
      const live = await bytesOf(`models/${ep()}/${model.currentTargetModel}`);
      const source = uploads.find((u) => u.key === `incoming/${ep()}/${model.model}.tar.gz`);
      expect(live.bytes.equals(source?.bytes as Buffer)).toBe(true);
    }
  });

  it('decodes keys with spaces, + and unicode as S3 encodes them', async () => {
    // Prepare
    const names = ['my model', 'a+b', 'modèle/日本語 v2'];
    const uploads = await Promise.all(names.map(async (name) => drop(`incoming/${ep()}/${name}.tar.gz`, await modelArchive(name))));

    // Act
    const response = await run(sqsEventForObjects(...uploads));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const models = await harness.registry.listModels(ep());
    expect(models.map((m) => m.model).sort()).toEqual([...names].sort());
    for (const model of models) {
      await expect(harness.aws.s3.send(new HeadObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/${model.currentTargetModel}` }))).resolves.toBeDefined();
    }
  });

  it('registers nothing twice for duplicate deliveries, in one batch or across batches', async () => {
    const upload = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'));
    const body = s3NotificationBody(s3EventRecord(upload));
    await run(sqsEvent(body, body));
    await run(sqsEvent(body));
    expect(await harness.registry.listVersions(ep(), 'm')).toHaveLength(1);
    expect((await allKeys()).filter((key) => key.startsWith(`models/${ep()}/`))).toHaveLength(1);
  });

  it('keeps the newest upload current when events arrive in reverse order', async () => {
    // Prepare: two uploads to one key; the second one's event is delivered first.
    const first = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'));
    const second = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v2'));

    // Act
    await run(sqsEventForObjects(second));
    await run(sqsEventForObjects(first));

    // Assess: the stale event finds the object replaced (its ETag no longer matches) and changes nothing.
    const model = await harness.registry.getModel(ep(), 'm');
    const live = await bytesOf(`models/${ep()}/${model?.currentTargetModel}`);
    expect(live.bytes.equals(second.bytes)).toBe(true);
    expect(await harness.registry.listVersions(ep(), 'm')).toHaveLength(1);
    expect(await harness.registry.findUpload(first.key, first.eTag)).toMatchObject({ outcome: 'superseded' });
  });

  it('registers the same content uploaded twice as one version', async () => {
    const bytes = await modelArchive('same');
    const first = await drop(`incoming/${ep()}/m.tar.gz`, bytes);
    await run(sqsEventForObjects(first));
    const second = await drop(`incoming/${ep()}/m.tar.gz`, bytes);
    await run(sqsEventForObjects(second));
    const versions = await harness.registry.listVersions(ep(), 'm');
    expect(versions).toHaveLength(1);
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBe(versions[0]?.version);
    expect(await harness.registry.findUpload(second.key, second.eTag)).toMatchObject({ outcome: 'registered', current: true, version: versions[0]?.version });
  });

  it('rolls back by uploading the old content again', async () => {
    // Prepare
    const v1 = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'));
    await run(sqsEventForObjects(v1));
    const firstVersion = (await harness.registry.getModel(ep(), 'm'))?.currentVersion;
    await run(sqsEventForObjects(await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v2'))));
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).not.toBe(firstVersion);

    // Act
    await run(sqsEventForObjects(await drop(`incoming/${ep()}/m.tar.gz`, v1.bytes)));

    // Assess
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBe(firstVersion);
    expect(await harness.registry.listVersions(ep(), 'm')).toHaveLength(2);
  });

  it('warms up with the sample payload beside the artifact', async () => {
    await harness.aws.s3.send(new PutObjectCommand({ Bucket: harness.aws.bucket, Key: `incoming/${ep()}/m.sample.json`, Body: '{"instances":[[5.1,3.5,1.4,0.2]]}' }));
    await run(sqsEventForObjects(await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'))));
    const invoke = runtimeMock.commandCalls(InvokeEndpointCommand)[0]?.args[0].input;
    expect(new TextDecoder().decode(invoke?.Body as Uint8Array)).toBe('{"instances":[[5.1,3.5,1.4,0.2]]}');
    expect((await harness.registry.listVersions(ep(), 'm'))[0]?.status).toBe('verified');
  });

  const badArchives: HostileArchiveKind[] = [
    'not gzip (text)',
    'truncated gzip',
    'gzip of a non-tar',
    'empty object',
    'parent traversal',
    'absolute path',
    'symlink',
    'hardlink',
    'character device',
    'block device',
    'decompression bomb (4 GiB of zeros)',
    'too many entries (default limit)',
  ];

  it.each(badArchives)('refuses %s: recorded with its rule, source untouched and tagged, nothing else written', async (kind) => {
    // Prepare
    const archive = HOSTILE_ARCHIVES[kind];
    const upload = await drop(`incoming/${ep()}/bad.tar.gz`, await archive.build());
    const keysBefore = await allKeys();

    // Act
    const response = await run(sqsEventForObjects(upload));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const outcome = await harness.registry.findUpload(upload.key, upload.eTag);
    expect(outcome).toMatchObject({ outcome: 'rejected', rule: archive.rule, endpoint: ep(), model: 'bad' });
    expect(outcome?.reason).toContain(archive.rule);
    if ('entry' in archive && archive.entry) expect(outcome?.reason).toContain(archive.entry);
    const after = await bytesOf(upload.key);
    expect(after.eTag).toBe(upload.eTag);
    expect(after.bytes.equals(upload.bytes)).toBe(true);
    expect(await allKeys()).toEqual(keysBefore);
    const tags = await harness.aws.s3.send(new GetObjectTaggingCommand({ Bucket: harness.aws.bucket, Key: upload.key }));
    expect(tags.TagSet).toContainEqual({ Key: 'smhost:rule', Value: archive.rule });
    expect(await harness.registry.listModels(ep())).toEqual([]);
    expect(await harness.registry.listRejections(ep())).toHaveLength(1);
  });

  it.each([
    ['key ending in "/"', () => `incoming/${ep()}/folder/`, 'folder-key'],
    ['wrong suffix', () => `incoming/${ep()}/m.zip`, 'wrong-suffix'],
    ['key directly under incoming/', () => 'incoming/m.tar.gz', 'outside-endpoint'],
    ['endpoint name breaking the SageMaker pattern', () => 'incoming/bad_endpoint/m.tar.gz', 'bad-endpoint-name'],
  ])('ignores a %s with a recorded reason, tagging it where it lies and writing nothing else', async (_label, keyOf, rule) => {
    // Prepare
    const upload = await drop(keyOf(), await modelArchive('x'));
    const keysBefore = await allKeys();

    // Act
    const response = await run(sqsEventForObjects(upload));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await harness.registry.findUpload(upload.key, upload.eTag)).toMatchObject({ outcome: 'ignored', rule });
    expect(await allKeys()).toEqual(keysBefore);
    expect((await bytesOf(upload.key)).eTag).toBe(upload.eTag);
    const tags = await harness.aws.s3.send(new GetObjectTaggingCommand({ Bucket: harness.aws.bucket, Key: upload.key }));
    expect(tags.TagSet).toEqual(expect.arrayContaining([{ Key: 'smhost:status', Value: 'ignored' }, { Key: 'smhost:rule', Value: rule }]));
  });

  it('ignores keys outside incoming/ without recording them', async () => {
    const upload = await drop(`elsewhere/${ep()}/m.tar.gz`, await modelArchive('x'));
    const keysBefore = await allKeys();
    const response = await run(sqsEventForObjects(upload));
    expect(response.batchItemFailures).toEqual([]);
    expect(await harness.registry.findUpload(upload.key, upload.eTag)).toBeUndefined();
    expect(await allKeys()).toEqual(keysBefore);
  });

  it('acknowledges s3:TestEvent and malformed bodies without failing the batch', async () => {
    const keysBefore = await allKeys();
    const response = await run(sqsEvent(s3TestEventBody(harness.aws.bucket), 'not json', '{"Records":[{}]}'));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await allKeys()).toEqual(keysBefore);
  });

  it('reconciles a live copy deleted by hand from its ObjectRemoved event', async () => {
    const v1 = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'));
    await run(sqsEventForObjects(v1));
    const version = (await harness.registry.getModel(ep(), 'm'))?.currentVersion;
    const liveKey = `models/${ep()}/m/${version}.tar.gz`;
    await harness.aws.s3.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: liveKey }));
    await run(sqsEventForObjects({ bucket: harness.aws.bucket, key: liveKey, eventName: 'ObjectRemoved:Delete' }));
    expect(await harness.registry.getVersion(ep(), 'm', version as string)).toMatchObject({ status: 'removed' });
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBeUndefined();
  });

  it('reports only the records that failed transiently, for the queue to retry', async () => {
    // Prepare: a handler whose S3 client cannot reach any server, beside one that can.
    const good = await drop(`incoming/${ep()}/m.tar.gz`, await modelArchive('v1'));
    const unreachable: S3Client = createS3Client({ ...harness.aws.s3Options, endpoint: 'http://127.0.0.1:9' });
    const broken = createHandler({
      deps: { ...harness.deps, s3: unreachable },
      logger: new Logger({ serviceName: 'register-artifacts-test', logLevel: 'SILENT' }),
    });
    const event = sqsEvent(s3NotificationBody(s3EventRecord(good)), s3TestEventBody(harness.aws.bucket));
    const failing = event.Records[0]?.messageId;

    // Act
    const response = await broken(event, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failing }] });
    unreachable.destroy();
    // The same message processed later, with S3 reachable again, registers.
    await run({ Records: [sqsRecord(s3NotificationBody(s3EventRecord(good)), failing)] });
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBeDefined();
  });
});

describe('Function: depsFromEnv', () => {
  it('builds the dependencies from the function environment', async () => {
    const { depsFromEnv } = await import('../../functions/register-artifacts');
    const built = depsFromEnv(new Logger({ logLevel: 'SILENT' }), { ARTIFACTS_BUCKET: 'b', REGISTRY_TABLE: 't', MODELS_PREFIX: 'live/' });
    expect(built.config).toMatchObject({ bucket: 'b', registryTable: 't', modelsPrefix: 'live/' });
    expect(built.registry).toBeInstanceOf(DynamoRegistry);
  });

  it('fails every record of the batch, loudly, when the environment is incomplete', async () => {
    // Prepare: without injected dependencies the handler reads process.env on first use.
    const saved = { bucket: process.env.ARTIFACTS_BUCKET, table: process.env.REGISTRY_TABLE };
    delete process.env.ARTIFACTS_BUCKET;
    delete process.env.REGISTRY_TABLE;
    const fromEnv = createHandler({ logger: new Logger({ logLevel: 'SILENT' }) });
    try {
      // Act / Assess: Powertools rejects a batch in which every record failed, so Lambda retries it whole.
      await expect(fromEnv(sqsEvent(s3TestEventBody('b')), context)).rejects.toThrow(/All records failed processing/);
    } finally {
      if (saved.bucket !== undefined) process.env.ARTIFACTS_BUCKET = saved.bucket;
      if (saved.table !== undefined) process.env.REGISTRY_TABLE = saved.table;
    }
  });
});
