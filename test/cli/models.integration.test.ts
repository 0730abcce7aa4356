import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_ARCHIVES, tarGzBuffer } from '../support/archives';
import { run } from './fakes';
import { startLocalRegistration, type LocalRegistration } from './local-registration';

let local: LocalRegistration;
let dir: string;

beforeAll(async () => {
  local = await startLocalRegistration();
  dir = await mkdtemp(join(tmpdir(), 'smhost-cli-'));
});

afterAll(async () => {
  await local?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function archiveFile(name: string, content: string): Promise<{ path: string; version: string; bytes: Buffer }> {
  const bytes = await tarGzBuffer([{ name: 'model.json', content }]);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, version: createHash('sha256').update(bytes).digest('hex').slice(0, 16), bytes };
}

async function body(key: string): Promise<Buffer> {
  const object = await local.aws.s3.send(new GetObjectCommand({ Bucket: local.aws.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

describe('Command: smhost models add (s3rver + dynalite, real registration handler)', () => {
  it('uploads a local file, waits for its registration and prints version, TargetModel and status', async () => {
    // Prepare
    const artifact = await archiveFile('m1-v1.tar.gz', '{"weights":[1]}');

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact.path, '--json', '--timeout', '20'], local.factory);

    // Assess
    expect(result.stderr()).not.toContain('smhost:');
    expect(result.stderr()).toContain(
      'warning: endpoint "ep1" not found; the model is registered now and served once a multi-model endpoint of that name is deployed',
    );
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout());
    expect(document).toMatchObject({
      endpoint: 'ep1',
      model: 'm1',
      key: 'incoming/ep1/m1.tar.gz',
      outcome: {
        outcome: 'registered',
        version: artifact.version,
        targetModel: `m1/${artifact.version}.tar.gz`,
        current: true,
        versionStatus: 'unverified',
      },
    });
    expect(await body(`models/ep1/m1/${artifact.version}.tar.gz`)).toEqual(artifact.bytes);
  });

  it('uploads the sample beside the artifact and prints a human summary', async () => {
    // Prepare
    const artifact = await archiveFile('m2.tar.gz', '{"weights":[2]}');
    const sample = join(dir, 'sample.json');
    await writeFile(sample, '{"instances":[[1,2,3,4]]}');

    // Act
    const result = await run(['models', 'add', 'ep1', 'team/m2', artifact.path, '--sample', sample], local.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout()).toContain(`version:      ${artifact.version}`);
    expect(result.stdout()).toContain(`target model: team/m2/${artifact.version}.tar.gz`);
    expect(result.stdout()).toContain('current:      yes');
    expect((await body('incoming/ep1/team/m2.sample.json')).toString()).toBe('{"instances":[[1,2,3,4]]}');
  });

  it('copies an s3:// object server-side into the drop zone and waits for it', async () => {
    // Prepare
    const artifact = await archiveFile('copied.tar.gz', '{"weights":[3]}');
    await local.aws.s3.send(new CreateBucketCommand({ Bucket: 'training-output' }));
    await local.aws.s3.send(new PutObjectCommand({ Bucket: 'training-output', Key: 'job 1/model.tar.gz', Body: artifact.bytes }));

    // Act
    const result = await run(['models', 'add', 'ep1', 'm3', 's3://training-output/job 1/model.tar.gz', '--json'], local.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout()).outcome).toMatchObject({ outcome: 'registered', version: artifact.version });
  });

  it('given the drop-zone object itself, reports the outcome already recorded for it', async () => {
    // Prepare
    const artifact = await archiveFile('inplace.tar.gz', '{"weights":"in place"}');
    expect((await run(['models', 'add', 'ep1', 'inplace', artifact.path], local.factory)).code).toBe(0);

    // Act
    const result = await run(
      ['models', 'add', 'ep1', 'inplace', `s3://${local.aws.bucket}/incoming/ep1/inplace.tar.gz`, '--json', '--timeout', '5'],
      local.factory,
    );

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout()).outcome).toMatchObject({ outcome: 'registered', version: artifact.version });
  });

  it('exits 1 and prints the rule and reason when registration refuses the archive', async () => {
    // Prepare
    const hostile = HOSTILE_ARCHIVES['parent traversal'];
    const path = join(dir, 'hostile.tar.gz');
    await writeFile(path, await hostile.build());

    // Act
    const result = await run(['models', 'add', 'ep1', 'bad', path], local.factory);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout()).toContain('outcome:  rejected');
    expect(result.stdout()).toMatch(/rule: +parent-traversal/);
    expect(result.stderr()).toMatch(/smhost: upload rejected: .+/);
    const head = await local.aws.s3.send(new HeadObjectCommand({ Bucket: local.aws.bucket, Key: 'incoming/ep1/bad.tar.gz' }));
    expect(head.ContentLength).toBeGreaterThan(0);
  });

  it('rolls back by uploading the same bytes again, even within the same second', async () => {
    // Prepare
    const v1 = await archiveFile('rb-v1.tar.gz', '{"weights":"one"}');
    const v2 = await archiveFile('rb-v2.tar.gz', '{"weights":"two"}');
    expect((await run(['models', 'add', 'ep1', 'rb', v1.path], local.factory)).code).toBe(0);
    expect((await run(['models', 'add', 'ep1', 'rb', v2.path], local.factory)).code).toBe(0);

    // Act
    const again = await run(['models', 'add', 'ep1', 'rb', v1.path, '--json'], local.factory);

    // Assess
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout()).outcome).toMatchObject({ version: v1.version, current: true });
    expect((await local.registry.getModel('ep1', 'rb'))?.currentVersion).toBe(v1.version);
  });

  it('with --no-wait, uploads and exits 0 without an outcome', async () => {
    // Prepare
    const artifact = await archiveFile('nowait.tar.gz', '{"weights":[4]}');

    // Act
    const result = await run(['models', 'add', 'ep2', 'nowait', artifact.path, '--no-wait', '--json'], local.factory);

    // Assess
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout());
    expect(document.outcome).toBeUndefined();
    expect(document.etag).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses with exit 2, uploading nothing, an endpoint SageMaker hosts as a single model', async () => {
    // Prepare: an endpoint whose model is not multi-model (its artifact is missing, so it ends Failed: it exists all the same)
    const sagemaker = local.factory({ json: false }, {}).clients.sagemaker;
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: 'single-model',
        ExecutionRoleArn: 'arn:aws:iam::000000000000:role/sagemaker',
        PrimaryContainer: { Image: 'smhost/onnxruntime:1', ModelDataUrl: `s3://${local.aws.bucket}/nothing/model.tar.gz` },
      }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'single-cfg',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'single-model', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      }),
    );
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'single', EndpointConfigName: 'single-cfg' }));
    const artifact = await archiveFile('single.tar.gz', '{"weights":"single"}');

    // Act
    const result = await run(['models', 'add', 'single', 'm1', artifact.path], local.factory);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr()).toContain(
      'smhost: invalid endpoint "single": is not a multi-model endpoint (model single-model serves a single model (Mode SingleModel))',
    );
    const listed = await local.aws.s3.send(new ListObjectsV2Command({ Bucket: local.aws.bucket, Prefix: 'incoming/single/' }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('exits 3 for an s3:// source that does not exist and 2 for a missing file', async () => {
    // Act
    const missingObject = await run(['models', 'add', 'ep1', 'm9', 's3://training-output/nope.tar.gz'], local.factory);
    const missingFile = await run(['models', 'add', 'ep1', 'm9', join(dir, 'nope.tar.gz')], local.factory);

    // Assess
    expect(missingObject.code).toBe(3);
    expect(missingObject.stderr()).toContain('source s3://training-output/nope.tar.gz does not exist');
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr()).toMatch(/invalid file ".*nope\.tar\.gz": no such file/);
  });
});

describe('Command: smhost models list / versions / promote / prune / remove', () => {
  it('lists models with current versions; a model named "models/x" keeps its name', async () => {
    // Prepare
    const artifact = await archiveFile('mx.tar.gz', '{"weights":"x"}');
    expect((await run(['models', 'add', 'ep3', 'models/x', artifact.path], local.factory)).code).toBe(0);
    await local.aws.s3.send(new PutObjectCommand({ Bucket: local.aws.bucket, Key: 'models/ep3/notes.txt', Body: 'not an archive' }));

    // Act
    const result = await run(['models', 'list', 'ep3', '--json'], local.factory);
    const human = await run(['models', 'list', 'ep3'], local.factory);
    const archives = await run(['models', 'list', 'ep3', '--archives'], local.factory);

    // Assess
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout());
    expect(document.models).toEqual([
      expect.objectContaining({ model: 'models/x', currentVersion: artifact.version, currentStatus: 'unverified', liveArchives: 1 }),
    ]);
    expect(document.archives).toEqual([`models/x/${artifact.version}.tar.gz`]);
    expect(human.stdout()).toMatch(new RegExp(`^MODEL +CURRENT +STATUS +ARCHIVES +TARGET MODEL\\nmodels/x +${artifact.version} +unverified +1 +models/x/`));
    expect(archives.stdout()).toBe(`models/x/${artifact.version}.tar.gz\n`);
  });

  it('exits 3 listing an endpoint nothing is known about', async () => {
    // Act
    const result = await run(['models', 'list', 'never-seen'], local.factory);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr()).toContain('endpoint "never-seen" has no models registered');
  });

  it('promotes an older version (roll back), prunes old versions and removes the model', async () => {
    // Prepare
    const versions = [];
    for (const n of [1, 2, 3]) {
      const artifact = await archiveFile(`life-${n}.tar.gz`, `{"weights":${n}}`);
      expect((await run(['models', 'add', 'ep4', 'life', artifact.path], local.factory)).code).toBe(0);
      versions.push(artifact.version);
    }
    const [first, second, third] = versions as [string, string, string];

    // Act: roll back to the first version
    const promoted = await run(['models', 'promote', 'ep4', 'life', first, '--json'], local.factory);

    // Assess
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout())).toMatchObject({ previousVersion: third, currentVersion: first, targetModel: `life/${first}.tar.gz` });
    const listed = await run(['models', 'versions', 'ep4', 'life', '--json'], local.factory);
    const rows = JSON.parse(listed.stdout()).versions as { version: string; current: boolean }[];
    expect(rows.map((v) => v.version)).toEqual([third, second, first]);
    expect(rows.filter((v) => v.current).map((v) => v.version)).toEqual([first]);

    // Act: keep one version; the current one survives whatever its age
    const pruned = await run(['models', 'prune', 'ep4', 'life', '--keep', '1', '--json'], local.factory);

    // Assess
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout())).toMatchObject({ kept: [third, first], removed: [second] });
    await expect(
      local.aws.s3.send(new HeadObjectCommand({ Bucket: local.aws.bucket, Key: `models/ep4/life/${second}.tar.gz` })),
    ).rejects.toMatchObject({ name: 'NotFound' });

    // Act: promoting the pruned version is refused
    const refused = await run(['models', 'promote', 'ep4', 'life', second], local.factory);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr()).toContain('removed');

    // Act: remove the model
    const removed = await run(['models', 'remove', 'ep4', 'life', '--json'], local.factory);

    // Assess
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout()).deletedKeys.sort()).toEqual(
      [`models/ep4/life/${first}.tar.gz`, `models/ep4/life/${third}.tar.gz`].sort(),
    );
    const afterRemoval = await run(['models', 'list', 'ep4', '--json'], local.factory);
    expect(JSON.parse(afterRemoval.stdout()).models).toEqual([]);
    const invoke = await run(['models', 'invoke', 'ep4', 'life', '--data', '{}'], local.factory);
    expect(invoke.code).toBe(3);
  });

  it('exits 3 for an unknown model or version, and 2 for a malformed version', async () => {
    // Act
    const unknownModel = await run(['models', 'versions', 'ep1', 'ghost'], local.factory);
    const unknownVersion = await run(['models', 'promote', 'ep1', 'm1', '0000000000000000'], local.factory);
    const malformed = await run(['models', 'promote', 'ep1', 'm1', 'latest'], local.factory);

    // Assess
    expect(unknownModel.code).toBe(3);
    expect(unknownModel.stderr()).toContain('model "ghost" is not registered on endpoint "ep1"');
    expect(unknownVersion.code).toBe(3);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr()).toContain('invalid version "latest"');
  });
});

describe('Command: smhost models invoke (registry + the local SageMaker emulator)', () => {
  it('resolves the model and reports the endpoint SageMaker does not know as not found (exit 3)', async () => {
    // Prepare
    const artifact = await archiveFile('inv.tar.gz', '{"weights":"inv"}');
    expect((await run(['models', 'add', 'ep5', 'inv', artifact.path], local.factory)).code).toBe(0);

    // Act
    const result = await run(['models', 'invoke', 'ep5', 'inv', '--data', '{"instances":[[1]]}', '--json'], local.factory);

    // Assess
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout()).error).toMatchObject({ name: 'NotFoundError', endpoint: 'ep5' });
    expect(result.stderr()).toMatch(/endpoint "ep5" does not exist: .+/);
  });
});
