/**
 * The use cases after registration (reconciliation of deleted live copies, promotion, removal,
 * retention, resolution), against real s3rver and dynalite; SageMaker is mocked.
 */
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, ModelError } from '@aws-sdk/client-sagemaker-runtime';
import {
  applyRetention,
  InvalidModelInputError,
  ModelNotFoundError,
  NoCurrentVersionError,
  promoteVersion,
  reconcileRemoval,
  registerArtifact,
  RegistryConflictError,
  RegistryNotFoundError,
  removeModel,
  resolveTargetModel,
  WarmUpFailedError,
  type ObjectNotification,
} from '../../src/multimodel';
import { tarGzBuffer } from '../support/archives';
import { encodeEventKey, nextSequencer } from '../support/s3-events';
import { useMultiModelHarness } from '../support/multimodel-harness';

const harness = useMultiModelHarness('life');
const { runtimeMock } = harness;
const ep = () => harness.endpoint();

async function upload(model: string, content: string): Promise<string> {
  const key = `incoming/${ep()}/${model}.tar.gz`;
  const body = await tarGzBuffer([{ name: 'model.onnx', content }]);
  const put = await harness.aws.s3.send(new PutObjectCommand({ Bucket: harness.aws.bucket, Key: key, Body: body }));
  const outcome = await registerArtifact(harness.deps, {
    kind: 'created',
    eventName: 'ObjectCreated:Put',
    bucket: harness.aws.bucket,
    encodedKey: encodeEventKey(key),
    eTag: (put.ETag ?? '').replace(/"/g, ''),
    size: body.length,
    sequencer: nextSequencer(),
  });
  if (outcome?.outcome !== 'registered' || !outcome.version) throw new Error(`upload of ${key} not registered: ${JSON.stringify(outcome)}`);
  return outcome.version;
}

async function liveKeys(): Promise<string[]> {
  const listed = await harness.aws.s3.send(new ListObjectsV2Command({ Bucket: harness.aws.bucket, Prefix: `models/${ep()}/` }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

function removalEvent(key: string): ObjectNotification {
  return { kind: 'removed', eventName: 'ObjectRemoved:Delete', bucket: harness.aws.bucket, encodedKey: encodeEventKey(key), sequencer: nextSequencer() };
}

describe('Function: reconcileRemoval', () => {
  it('marks a deleted live copy removed and falls back to the newest remaining version', async () => {
    // Prepare
    const v1 = await upload('m', 'v1');
    const v2 = await upload('m', 'v2');
    const key = `models/${ep()}/m/${v2}.tar.gz`;
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: key }));

    // Act
    const outcome = await reconcileRemoval(harness.deps, removalEvent(key));

    // Assess
    expect(outcome).toEqual({ kind: 'removed', endpoint: ep(), model: 'm', version: v2, wasCurrent: true, fellBackTo: v1 });
    expect(await harness.registry.getVersion(ep(), 'm', v2)).toMatchObject({ status: 'removed', reason: expect.stringMatching(/was deleted \(ObjectRemoved:Delete/) });
    expect(await harness.registry.getModel(ep(), 'm')).toMatchObject({ currentVersion: v1, reason: expect.stringMatching(new RegExp(`fell back to version ${v1}`)) });
  });

  it('leaves the model without a current version when nothing is left, recording why', async () => {
    const v1 = await upload('m', 'v1');
    const key = `models/${ep()}/m/${v1}.tar.gz`;
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: key }));
    const outcome = await reconcileRemoval(harness.deps, removalEvent(key));
    expect(outcome).toMatchObject({ kind: 'removed', wasCurrent: true });
    const model = await harness.registry.getModel(ep(), 'm');
    expect(model?.currentVersion).toBeUndefined();
    expect(model?.reason).toMatch(/no version left to serve: live copy .* was deleted/);
  });

  it('skips fallback candidates whose live copies are gone too', async () => {
    const v1 = await upload('m', 'v1');
    const v2 = await upload('m', 'v2');
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/m/${v1}.tar.gz` }));
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/m/${v2}.tar.gz` }));
    await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/${v2}.tar.gz`));
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBeUndefined();
    expect(await harness.registry.getVersion(ep(), 'm', v1)).toMatchObject({ status: 'removed' });
  });

  it('removes a non-current version without touching the current one', async () => {
    const v1 = await upload('m', 'v1');
    const v2 = await upload('m', 'v2');
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/m/${v1}.tar.gz` }));
    const outcome = await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/${v1}.tar.gz`));
    expect(outcome).toMatchObject({ kind: 'removed', wasCurrent: false });
    expect((await harness.registry.getModel(ep(), 'm'))?.currentVersion).toBe(v2);
  });

  it('treats the event as stale when the live copy exists', async () => {
    const v1 = await upload('m', 'v1');
    const outcome = await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/${v1}.tar.gz`));
    expect(outcome).toEqual({ kind: 'stale', key: `models/${ep()}/m/${v1}.tar.gz` });
    expect(await harness.registry.getVersion(ep(), 'm', v1)).toMatchObject({ status: 'unverified' });
  });

  it('ignores keys that are not live keys and versions it does not know', async () => {
    expect(await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/latest.tar.gz`))).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/is not a version/) });
    expect(await reconcileRemoval(harness.deps, { ...removalEvent('x'), encodedKey: '%E0%A4%A' })).toMatchObject({ kind: 'ignored' });
    expect(await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/0123456789abcdef.tar.gz`))).toMatchObject({ kind: 'unknown-version' });
  });
});

describe('Function: promoteVersion', () => {
  it('makes an older version current again (roll-back)', async () => {
    const v1 = await upload('m', 'v1');
    const v2 = await upload('m', 'v2');
    const result = await promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1 });
    expect(result).toMatchObject({ previousVersion: v2, model: { currentVersion: v1, reason: `promoted by request (was ${v2})` } });
    expect((await resolveTargetModel(harness.registry, { endpoint: ep(), model: 'm' })).targetModel).toBe(`m/${v1}.tar.gz`);
  });

  it('warms up first when asked, refusing on a ModelError', async () => {
    const v1 = await upload('m', 'v1');
    await upload('m', 'v2');
    await harness.aws.s3.send(new PutObjectCommand({ Bucket: harness.aws.bucket, Key: `incoming/${ep()}/m.sample.json`, Body: '{"instances":[[1]]}' }));
    runtimeMock.on(InvokeEndpointCommand).rejects(new ModelError({ $metadata: { httpStatusCode: 424 }, message: 'broken' }));
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1, warmUp: true })).rejects.toBeInstanceOf(WarmUpFailedError);
    runtimeMock.on(InvokeEndpointCommand).resolves({});
    const result = await promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1, warmUp: true });
    expect(result.warmUp).toEqual({ kind: 'verified', attempts: 1 });
  });

  it('refuses unknown, unservable and vanished versions, and malformed names', async () => {
    const v1 = await upload('m', 'v1');
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: 'ffffffffffffffff' })).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: 'latest' })).rejects.toThrow(/version "latest" is not 16 lowercase hex digits/);
    await expect(promoteVersion(harness.deps, { endpoint: 'bad_name', model: 'm', version: v1 })).rejects.toBeInstanceOf(InvalidModelInputError);
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: '../m', version: v1 })).rejects.toThrow(/model name "..\/m" has a ".." path segment/);
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/m/${v1}.tar.gz` }));
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1 })).rejects.toThrow(/has no live copy/);
    await expect(promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1 })).rejects.toBeInstanceOf(RegistryConflictError);
  });
});

describe('Function: removeModel', () => {
  it('deletes every live copy of the model (not of models under it) and marks the registry', async () => {
    // Prepare
    await upload('m', 'v1');
    await upload('m', 'v2');
    const nested = await upload('m/sub', 'v1');

    // Act
    const result = await removeModel(harness.deps, { endpoint: ep(), model: 'm' });

    // Assess
    expect(result.deletedKeys).toHaveLength(2);
    expect(await liveKeys()).toEqual([`models/${ep()}/m/sub/${nested}.tar.gz`]);
    expect(result.model).toMatchObject({ status: 'removed', reason: 'removed by request' });
    expect((await harness.registry.listVersions(ep(), 'm')).map((v) => v.status)).toEqual(['removed', 'removed']);
    await expect(resolveTargetModel(harness.registry, { endpoint: ep(), model: 'm' })).rejects.toThrow(/is not registered with endpoint .* \(removed by request\)/);
    expect((await resolveTargetModel(harness.registry, { endpoint: ep(), model: 'm/sub' })).version).toBe(nested);
    // Again: nothing more to delete.
    expect((await removeModel(harness.deps, { endpoint: ep(), model: 'm' })).deletedKeys).toEqual([]);
  });

  it('also deletes stray version objects the registry does not know', async () => {
    const stray = `models/${ep()}/m/0123456789abcdef.tar.gz`;
    await harness.aws.s3.send(new PutObjectCommand({ Bucket: harness.aws.bucket, Key: stray, Body: 'x' }));
    const result = await removeModel(harness.deps, { endpoint: ep(), model: 'm' });
    expect(result.deletedKeys).toEqual([stray]);
  });

  it('refuses a model of which nothing exists', async () => {
    await expect(removeModel(harness.deps, { endpoint: ep(), model: 'ghost' })).rejects.toBeInstanceOf(ModelNotFoundError);
  });
});

describe('Function: applyRetention', () => {
  it('keeps the newest N versions and the current one, deleting the others', async () => {
    // Prepare
    const v1 = await upload('m', 'v1');
    const v2 = await upload('m', 'v2');
    const v3 = await upload('m', 'v3');
    const v4 = await upload('m', 'v4');
    await promoteVersion(harness.deps, { endpoint: ep(), model: 'm', version: v1 });

    // Act
    const result = await applyRetention(harness.deps, ep(), 'm', 2);

    // Assess
    expect(result).toEqual({ kept: [v4, v3, v1], removed: [v2] });
    expect(await liveKeys()).toEqual([v1, v3, v4].map((v) => `models/${ep()}/m/${v}.tar.gz`).sort());
    expect(await harness.registry.getVersion(ep(), 'm', v2)).toMatchObject({ status: 'removed', reason: 'retention: only the newest 2 version(s) are kept' });
  });

  it('refuses a keep count under 1', async () => {
    await expect(applyRetention(harness.deps, ep(), 'm', 0)).rejects.toThrow(/keep must be a whole number of at least 1, got 0/);
    await expect(applyRetention(harness.deps, ep(), 'm', 1.5)).rejects.toBeInstanceOf(InvalidModelInputError);
  });
});

describe('Function: resolveTargetModel', () => {
  it('resolves a model name to the TargetModel of its current version', async () => {
    const v1 = await upload('team/churn', 'v1');
    expect(await resolveTargetModel(harness.registry, { endpoint: ep(), model: 'team/churn' })).toMatchObject({ targetModel: `team/churn/${v1}.tar.gz`, version: v1 });
  });

  it('says why when there is nothing to resolve', async () => {
    await expect(resolveTargetModel(harness.registry, { endpoint: ep(), model: 'ghost' })).rejects.toBeInstanceOf(ModelNotFoundError);
    const v1 = await upload('m', 'v1');
    await harness.aws.s3.send(new DeleteObjectCommand({ Bucket: harness.aws.bucket, Key: `models/${ep()}/m/${v1}.tar.gz` }));
    await reconcileRemoval(harness.deps, removalEvent(`models/${ep()}/m/${v1}.tar.gz`));
    await expect(resolveTargetModel(harness.registry, { endpoint: ep(), model: 'm' })).rejects.toBeInstanceOf(NoCurrentVersionError);
    await expect(resolveTargetModel(harness.registry, { endpoint: ep(), model: 'm' })).rejects.toThrow(/has no current version: no version left to serve/);
  });
});
