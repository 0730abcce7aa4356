/**
 * Every branch of the registration use case, with S3 and SageMaker mocked (so 412s, throttling and
 * failures on demand are possible) and the registry on a real dynalite.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { registrationConfigFromEnv } from '../../src/multimodel/config';
import type { MultiModelDeps } from '../../src/multimodel/dependencies';
import { MAX_SAMPLE_BYTES, registerArtifact } from '../../src/multimodel/register-artifact';
import { DynamoRegistry } from '../../src/multimodel/registry';
import type { ObjectNotification } from '../../src/multimodel/s3-notifications';
import { HOSTILE_ARCHIVES, tarGzBuffer } from '../support/archives';
import { encodeEventKey } from '../support/s3-events';
import { startLocalDynamo, type LocalDynamo } from '../support/local-aws';

const BUCKET = 'bucket';
const s3 = new S3Client({ region: 'us-east-1' });
const sagemaker = new SageMakerClient({ region: 'us-east-1' });
const runtime = new SageMakerRuntimeClient({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
const sagemakerMock = mockClient(sagemaker);
const runtimeMock = mockClient(runtime);

let local: LocalDynamo;
let registry: DynamoRegistry;
let counter = 0;
/** What the mocked bucket holds: key → bytes and ETag. */
let objects: Map<string, { bytes: Buffer; eTag: string }>;
let sequencer = 0x100;

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

function streamOf(bytes: Buffer) {
  return Object.assign(Readable.from([bytes]), {
    transformToByteArray: async () => new Uint8Array(bytes),
    transformToString: async () => bytes.toString('utf8'),
  });
}

function put(key: string, bytes: Buffer): string {
  const eTag = createHash('md5').update(bytes).digest('hex');
  objects.set(key, { bytes, eTag });
  return eTag;
}

function eventFor(key: string, overrides: Partial<ObjectNotification> = {}): ObjectNotification {
  sequencer += 1;
  const object = objects.get(key);
  return {
    kind: 'created',
    eventName: 'ObjectCreated:Put',
    bucket: BUCKET,
    encodedKey: encodeEventKey(key),
    ...(object ? { eTag: object.eTag, size: object.bytes.length } : {}),
    sequencer: sequencer.toString(16).toUpperCase().padStart(18, '0'),
    ...overrides,
  };
}

function installBucket(): void {
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string; IfMatch?: string }) => {
    const object = objects.get(input.Key);
    if (!object) throw s3Error('NoSuchKey', 404);
    if (input.IfMatch && input.IfMatch !== `"${object.eTag}"`) throw s3Error('PreconditionFailed', 412);
    return { Body: streamOf(object.bytes), ETag: `"${object.eTag}"`, ContentLength: object.bytes.length };
  });
  s3Mock.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
    const object = objects.get(input.Key);
    if (!object) throw s3Error('NotFound', 404);
    return { ETag: `"${object.eTag}"`, ContentLength: object.bytes.length };
  });
  s3Mock.on(CopyObjectCommand).callsFake((input: { Key: string; CopySource: string; CopySourceIfMatch?: string }) => {
    const sourceKey = decodeURIComponent(input.CopySource.slice(BUCKET.length + 1));
    const source = objects.get(sourceKey);
    if (!source) throw s3Error('NoSuchKey', 404);
    if (input.CopySourceIfMatch && input.CopySourceIfMatch !== `"${source.eTag}"`) throw s3Error('PreconditionFailed', 412);
    objects.set(input.Key, { ...source });
    return { CopyObjectResult: { ETag: `"${source.eTag}"` } };
  });
  s3Mock.on(DeleteObjectCommand).callsFake((input: { Key: string }) => {
    objects.delete(input.Key);
    return {};
  });
  s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
  s3Mock.on(PutObjectTaggingCommand).resolves({});
}

function deps(env: Record<string, string> = {}): MultiModelDeps {
  return {
    s3,
    registry,
    sagemaker,
    sagemakerRuntime: runtime,
    config: registrationConfigFromEnv({ ARTIFACTS_BUCKET: BUCKET, REGISTRY_TABLE: local.table, WARMUP_INITIAL_DELAY_MS: '0', ...env }),
    sleep: async () => undefined,
  };
}

const ep = () => `ep-${counter}`;
const liveKeys = () => [...objects.keys()].filter((key) => key.startsWith('models/'));

async function artifact(content: string): Promise<Buffer> {
  return tarGzBuffer([{ name: 'model.onnx', content }]);
}

beforeAll(async () => {
  local = await startLocalDynamo();
  registry = new DynamoRegistry(local.dynamo, local.table);
});

afterAll(async () => {
  await local?.stop();
});

beforeEach(() => {
  counter += 1;
  objects = new Map();
  s3Mock.reset();
  sagemakerMock.reset();
  runtimeMock.reset();
  installBucket();
  sagemakerMock.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService' });
  runtimeMock.on(InvokeEndpointCommand).resolves({});
});

describe('Function: registerArtifact', () => {
  it('registers a new artifact: live copy pinned to the ETag, version verified and current, outcome recorded', async () => {
    // Prepare
    const key = `incoming/${ep()}/team/churn.tar.gz`;
    const eTag = put(key, await artifact('v1'));
    put(`incoming/${ep()}/team/churn.sample.json`, Buffer.from('{"instances":[[1]]}'));

    // Act
    const outcome = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(outcome).toMatchObject({ outcome: 'registered', current: true, versionStatus: 'verified', endpoint: ep(), model: 'team/churn', sourceETag: eTag });
    const version = outcome?.version as string;
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(liveKeys()).toEqual([`models/${ep()}/team/churn/${version}.tar.gz`]);
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({ CopySourceIfMatch: `"${eTag}"` });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)[0]?.args[0].input).toMatchObject({
      EndpointName: ep(),
      TargetModel: `team/churn/${version}.tar.gz`,
      ContentType: 'application/json',
    });
    expect(await registry.getModel(ep(), 'team/churn')).toMatchObject({ currentVersion: version, currentTargetModel: `team/churn/${version}.tar.gz` });
    expect(await registry.findUpload(key, eTag)).toMatchObject({ outcome: 'registered', version });
    expect(await registry.listEndpoints()).toContainEqual(expect.objectContaining({ endpoint: ep() }));
  });

  it('makes a version current but unverified when there is no sample payload', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const outcome = await registerArtifact(deps(), eventFor(key));
    expect(outcome).toMatchObject({ current: true, versionStatus: 'unverified', reason: `no sample payload "incoming/${ep()}/m.sample.json"; not warmed up` });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it('reads no sample payload when the endpoint is absent', async () => {
    // Prepare
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    put(`incoming/${ep()}/m.sample.json`, Buffer.from('{"instances":[[1]]}'));
    sagemakerMock.on(DescribeEndpointCommand).rejects(
      Object.assign(new Error(`Could not find endpoint "${ep()}".`), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }),
    );

    // Act
    const outcome = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(outcome).toMatchObject({ current: true, versionStatus: 'unverified', reason: expect.stringMatching(/endpoint "ep-\d+" was not found/) });
    const sampleReads = [...s3Mock.commandCalls(HeadObjectCommand), ...s3Mock.commandCalls(GetObjectCommand)].filter((call) => String(call.args[0].input.Key).endsWith('.sample.json'));
    expect(sampleReads).toHaveLength(0);
  });

  it('ignores a sample payload over the InvokeEndpoint limit, saying so', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    put(`incoming/${ep()}/m.sample.json`, Buffer.alloc(MAX_SAMPLE_BYTES + 1, 32));
    const outcome = await registerArtifact(deps(), eventFor(key));
    expect(outcome?.reason).toMatch(/sample payload .* is 6291457 bytes, over InvokeEndpoint's 6291456/);
  });

  it('keeps the previous version current when the warm-up answers a ModelError', async () => {
    // Prepare
    const key = `incoming/${ep()}/m.tar.gz`;
    put(`incoming/${ep()}/m.sample.json`, Buffer.from('{}'));
    put(key, await artifact('good'));
    const first = await registerArtifact(deps(), eventFor(key));
    put(key, await artifact('broken'));
    runtimeMock.on(InvokeEndpointCommand).rejects(new ModelError({ $metadata: { httpStatusCode: 424 }, message: 'failed', OriginalStatusCode: 500, OriginalMessage: 'bad weights' }));

    // Act
    const second = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(second).toMatchObject({ outcome: 'failed', current: false, versionStatus: 'failed', reason: 'ModelError (container status 500): bad weights' });
    const model = await registry.getModel(ep(), 'm');
    expect(model?.currentVersion).toBe(first?.version);
    expect(model?.reason).toMatch(new RegExp(`version ${second?.version} .* failed its warm-up .*; kept version ${first?.version}`));
  });

  it('records a first version that fails its warm-up with no current version', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(`incoming/${ep()}/m.sample.json`, Buffer.from('{}'));
    put(key, await artifact('broken'));
    runtimeMock.on(InvokeEndpointCommand).rejects(new ModelError({ $metadata: { httpStatusCode: 424 }, message: 'failed' }));
    await registerArtifact(deps(), eventFor(key));
    const model = await registry.getModel(ep(), 'm');
    expect(model?.currentVersion).toBeUndefined();
    expect(model?.reason).toMatch(/no version is current/);
  });

  it('registers nothing twice for a duplicate delivery', async () => {
    // Prepare
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const event = eventFor(key);
    const first = await registerArtifact(deps(), event);
    const before = await registry.getModel(ep(), 'm');

    // Act
    const again = await registerArtifact(deps(), event);

    // Assess
    expect(again).toMatchObject({ outcome: 'registered', version: first?.version, current: true });
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(1);
    expect(await registry.getModel(ep(), 'm')).toEqual(before);
    expect(await registry.listVersions(ep(), 'm')).toHaveLength(1);
  });

  it('never lets an older event displace a newer current version', async () => {
    // Prepare: v1 uploaded (event A), then v2 (event B); B is processed first.
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const eventA = eventFor(key);
    const bytesA = objects.get(key);
    put(key, await artifact('v2'));
    const eventB = eventFor(key);
    const newer = await registerArtifact(deps(), eventB);
    // The old bytes are still readable under the old ETag (as with a versioned read), so A gets registered.
    objects.set(key, bytesA as { bytes: Buffer; eTag: string });

    // Act
    const older = await registerArtifact(deps(), eventA);

    // Assess
    expect(older).toMatchObject({ outcome: 'registered', current: false, versionStatus: 'unverified' });
    expect(older?.reason).toMatch(/older than the last applied upload/);
    expect((await registry.getModel(ep(), 'm'))?.currentVersion).toBe(newer?.version);
  });

  it('reports an event whose object was replaced before reading as superseded, touching nothing', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const stale = eventFor(key);
    put(key, await artifact('v2'));
    const outcome = await registerArtifact(deps(), stale);
    expect(outcome).toMatchObject({ outcome: 'superseded', sourceETag: stale.eTag });
    expect(liveKeys()).toEqual([]);
    expect(await registry.findUpload(key, stale.eTag as string)).toMatchObject({ outcome: 'superseded' });
  });

  it('refuses an answer with another ETag from a store that ignores If-Match, as superseded', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const stale = eventFor(key);
    const newer = put(key, await artifact('v2'));
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: streamOf(objects.get(key)?.bytes as Buffer), ETag: `"${newer}"` }));
    const outcome = await registerArtifact(deps(), stale);
    expect(outcome).toMatchObject({ outcome: 'superseded', reason: expect.stringMatching(new RegExp(`ETag ${newer}, not ${stale.eTag}`)) });
    expect(liveKeys()).toEqual([]);
  });

  it('reports a deleted object as superseded', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    const outcome = await registerArtifact(deps(), eventFor(key, { eTag: 'gone', size: 10 }));
    expect(outcome).toMatchObject({ outcome: 'superseded', reason: expect.stringMatching(/replaced or deleted before it could be read/) });
  });

  it('reports a copy answered 412 (replaced after the check) as superseded, with no version recorded', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    s3Mock.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const outcome = await registerArtifact(deps(), eventFor(key));
    expect(outcome).toMatchObject({ outcome: 'superseded', reason: expect.stringMatching(/replaced after it was checked/) });
    expect(await registry.listVersions(ep(), 'm')).toEqual([]);
  });

  it('carries on when a concurrent delivery wrote the live copy first', async () => {
    // Prepare: the copy is refused (If-None-Match) because the same bytes just landed there.
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    let heads = 0;
    s3Mock.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      heads += 1;
      if (input.Key.startsWith('models/') && heads > 1) return {};
      throw s3Error('NotFound', 404);
    });
    s3Mock.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    // Act
    const outcome = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(outcome).toMatchObject({ outcome: 'registered', current: true });
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('pins the read to the ETag of the GetObject answer when the event carries none', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    const eTag = put(key, await artifact('v1'));
    const outcome = await registerArtifact(deps(), eventFor(key, { eTag: undefined }));
    expect(outcome).toMatchObject({ outcome: 'registered', sourceETag: eTag });
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input.IfMatch).toBeUndefined();
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input.CopySourceIfMatch).toBe(`"${eTag}"`);
  });

  it('does not copy when the live copy already exists', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const first = await registerArtifact(deps(), eventFor(key));
    await registry.setVersionStatus(ep(), 'm', first?.version as string, 'pending');
    s3Mock.resetHistory();
    await registerArtifact(deps(), eventFor(key));
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('rejects a hostile archive: tagged where it lies, reason recorded, nothing copied', async () => {
    // Prepare
    const key = `incoming/${ep()}/m.tar.gz`;
    const eTag = put(key, await HOSTILE_ARCHIVES['parent traversal'].build());

    // Act
    const outcome = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(outcome).toMatchObject({ outcome: 'rejected', rule: 'parent-traversal', endpoint: ep(), model: 'm' });
    expect(outcome?.reason).toContain('../evil.sh');
    expect(s3Mock.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input).toMatchObject({ Key: key });
    expect(liveKeys()).toEqual([]);
    expect(await registry.findUpload(key, eTag)).toMatchObject({ outcome: 'rejected', rule: 'parent-traversal' });
    expect(await registry.listRejections(ep())).toHaveLength(1);
  });

  it('still records a refusal when tagging is denied', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, Buffer.from('not an archive'));
    s3Mock.on(PutObjectTaggingCommand).rejects(s3Error('AccessDenied', 403));
    const outcome = await registerArtifact(deps(), eventFor(key));
    expect(outcome).toMatchObject({ outcome: 'rejected', rule: 'not-gzip' });
  });

  it('throws when tagging fails transiently, so the message is retried', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, Buffer.from('not an archive'));
    s3Mock.on(GetObjectTaggingCommand).rejects(s3Error('SlowDown', 503));
    await expect(registerArtifact(deps(), eventFor(key))).rejects.toMatchObject({ name: 'SlowDown' });
  });

  it('throws transient S3 failures of the read and of the copy', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    s3Mock.on(CopyObjectCommand).rejects(s3Error('InternalError', 500));
    await expect(registerArtifact(deps(), eventFor(key))).rejects.toMatchObject({ name: 'InternalError' });
    s3Mock.on(GetObjectCommand).rejects(s3Error('SlowDown', 503));
    await expect(registerArtifact(deps(), eventFor(key))).rejects.toMatchObject({ name: 'SlowDown' });
  });

  it('throws when the body stream breaks (not a verdict on the archive)', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    s3Mock.on(GetObjectCommand).callsFake(() => {
      const broken = new Readable({
        read() {
          this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        },
      });
      return { Body: broken, ETag: `"${objects.get(key)?.eTag}"` };
    });
    await expect(registerArtifact(deps(), eventFor(key))).rejects.toThrow(/socket hang up/);
    expect(await registry.findUpload(key, objects.get(key)?.eTag as string)).toBeUndefined();
  });

  it('ignores and records a bad key under incoming/, reading nothing', async () => {
    const key = `incoming/${ep()}/model.zip`;
    const outcome = await registerArtifact(deps(), eventFor(key, { eTag: 'e1' }));
    expect(outcome).toMatchObject({ outcome: 'ignored', rule: 'wrong-suffix', sourceKey: key });
    expect(await registry.findUpload(key, 'e1')).toMatchObject({ outcome: 'ignored' });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('ignores without recording keys outside incoming/, keys without an ETag, other buckets and bad encodings', async () => {
    expect(await registerArtifact(deps(), eventFor('elsewhere/ep/m.tar.gz', { eTag: 'e' }))).toBeUndefined();
    expect(await registerArtifact(deps(), eventFor(`incoming/${ep()}/`, { eTag: undefined }))).toBeUndefined();
    expect(await registerArtifact(deps(), eventFor(`incoming/${ep()}/m.tar.gz`, { bucket: 'other', eTag: 'e' }))).toBeUndefined();
    expect(await registerArtifact(deps(), { ...eventFor('x'), encodedKey: 'incoming/ep/%E0%A4%A.tar.gz' })).toBeUndefined();
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('makes an older version current again when its content is uploaded again (roll-back by upload)', async () => {
    // Prepare
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const v1 = await registerArtifact(deps(), eventFor(key));
    put(key, await artifact('v2'));
    await registerArtifact(deps(), eventFor(key));
    put(key, await artifact('v1'));

    // Act
    const back = await registerArtifact(deps(), eventFor(key));

    // Assess
    expect(back).toMatchObject({ version: v1?.version, current: true });
    expect(await registry.listVersions(ep(), 'm')).toHaveLength(2);
    expect((await registry.getModel(ep(), 'm'))?.reason).toMatch(/made current again by a new upload of the same content/);
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(2);
  });

  it('only notes the newer event when the same content as the current version arrives again', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    await registerArtifact(deps(), eventFor(key));
    put(key, await artifact('v1'));
    const event = eventFor(key);
    runtimeMock.resetHistory();
    const outcome = await registerArtifact(deps(), event);
    expect(outcome).toMatchObject({ current: true });
    expect((await registry.getModel(ep(), 'm'))?.lastSequencer).toBe(event.sequencer);
    expect(sagemakerMock.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
  });

  it('applies retention after registration when RETAIN_VERSIONS is set', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    const versions: string[] = [];
    for (const content of ['v1', 'v2', 'v3']) {
      put(key, await artifact(content));
      versions.push((await registerArtifact(deps({ RETAIN_VERSIONS: '2' }), eventFor(key)))?.version as string);
    }
    expect(liveKeys().sort()).toEqual(versions.slice(1).map((v) => `models/${ep()}/m/${v}.tar.gz`).sort());
    expect(await registry.getVersion(ep(), 'm', versions[0] as string)).toMatchObject({ status: 'removed', reason: expect.stringMatching(/retention/) });
  });

  it('revives a removed version by copying it again when its content is uploaded', async () => {
    const key = `incoming/${ep()}/m.tar.gz`;
    put(key, await artifact('v1'));
    const first = await registerArtifact(deps(), eventFor(key));
    objects.delete(`models/${ep()}/m/${first?.version}.tar.gz`);
    await registry.markVersionRemoved(ep(), 'm', first?.version as string, 'deleted');
    const again = await registerArtifact(deps(), eventFor(key));
    expect(again).toMatchObject({ version: first?.version, current: true, versionStatus: 'unverified' });
    expect(liveKeys()).toHaveLength(1);
  });
});
