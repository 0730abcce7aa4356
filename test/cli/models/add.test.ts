import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExitCode, parseArtifactSource, type AddModelResult } from '../../../src/cli/models/add';
import type { UploadOutcome } from '../../../src/multimodel/registry';
import { mockedContext, run, stubRegistry } from '../fakes';

const MD5_OF_ARTIFACT = '8b1a9953c4611296a827abf8c47804d7'; // md5("Hello")
let dir: string;
let artifact: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smhost-add-'));
  artifact = join(dir, 'm.tar.gz');
  await writeFile(artifact, 'Hello');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function outcome(fields: Partial<UploadOutcome>): UploadOutcome {
  return {
    sourceKey: 'incoming/ep1/m1.tar.gz',
    sourceETag: MD5_OF_ARTIFACT,
    outcome: 'registered',
    recordedAt: new Date(Date.now() + 60_000).toISOString(),
    ...fields,
  };
}

function sdkError(name: string, message: string) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

/**
 * A context whose S3 accepts the uploads, whose registry answers `findUpload` from a list, and whose SageMaker
 * knows ep1 as a multi-model endpoint (DescribeEndpoint → DescribeEndpointConfig → DescribeModel).
 */
function setUp(answers: (UploadOutcome | undefined)[]) {
  const calls: string[] = [];
  const registry = stubRegistry({
    findUpload: async () => {
      calls.push('findUpload');
      return answers.length > 1 ? answers.shift() : answers[0];
    },
  });
  const fake = mockedContext(registry);
  fake.mocks.s3.on(PutObjectCommand).callsFake(async (input: { Key: string }) => {
    calls.push(`put ${input.Key}`);
    return { ETag: `"${MD5_OF_ARTIFACT}"` };
  });
  fake.mocks.s3.on(HeadObjectCommand).resolves({ ETag: `"${MD5_OF_ARTIFACT}"`, ContentLength: 5, LastModified: new Date() });
  const sagemaker = mockClient(fake.context.clients.sagemaker);
  sagemaker.on(DescribeEndpointCommand, { EndpointName: 'ep1' }).resolves({ EndpointName: 'ep1', EndpointConfigName: 'ep1-cfg', EndpointStatus: 'InService' });
  sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'ep1-cfg' }).resolves({ ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'ep1-model' }] });
  sagemaker.on(DescribeModelCommand, { ModelName: 'ep1-model' }).resolves({ PrimaryContainer: { Image: 'onnx', Mode: 'MultiModel' } });
  return { ...fake, calls, sagemaker };
}

describe('Command: smhost models add', () => {
  it('uploads the sample before the artifact, then snapshots and waits for the outcome', async () => {
    // Prepare
    const sample = join(dir, 'sample.json');
    await writeFile(sample, '{"instances":[[1]]}');
    const { factory, calls } = setUp([undefined, outcome({ version: '0123456789abcdef', current: true, versionStatus: 'verified' })]);

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact, '--sample', sample, '--json'], factory);

    // Assess
    expect(result.code).toBe(0);
    expect(calls.slice(0, 4)).toEqual(['put incoming/ep1/m1.sample.json', 'findUpload', 'put incoming/ep1/m1.tar.gz', 'findUpload']);
    expect(JSON.parse(result.stdout())).toMatchObject({
      key: 'incoming/ep1/m1.tar.gz',
      etag: MD5_OF_ARTIFACT,
      sampleKey: 'incoming/ep1/m1.sample.json',
      outcome: { version: '0123456789abcdef', current: true },
    });
  });

  it('exits 1 when the upload was rejected, with the outcome as the JSON document', async () => {
    // Prepare
    const { factory } = setUp([
      undefined,
      outcome({ outcome: 'rejected', rule: 'not-gzip', reason: 'artifact is not gzip (magic bytes 48 65)' }),
    ]);

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact, '--json'], factory);

    // Assess
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout()).outcome).toMatchObject({ outcome: 'rejected', rule: 'not-gzip' });
    expect(result.stderr()).toContain('smhost: upload rejected: artifact is not gzip');
  });

  it('exits 1 when the version was registered but failed its warm-up', async () => {
    // Prepare
    const { factory } = setUp([
      undefined,
      outcome({ version: '0123456789abcdef', current: false, versionStatus: 'failed', reason: 'ModelError: bad weights' }),
    ]);

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact], factory);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout()).toMatch(/status: +failed/);
    expect(result.stderr()).toContain('version 0123456789abcdef was registered but failed its warm-up: ModelError: bad weights');
  });

  it('exits 4 when no outcome arrives in time, naming the key and ETag', async () => {
    // Prepare
    const { factory } = setUp([undefined]);

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact, '--timeout', '0.3', '--json'], factory);

    // Assess
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout()).error).toMatchObject({
      name: 'WaitTimeoutError',
      key: 'incoming/ep1/m1.tar.gz',
      etag: MD5_OF_ARTIFACT,
    });
  });

  it('checks a multi-model endpoint silently', async () => {
    // Prepare
    const { factory, sagemaker } = setUp([undefined, outcome({ version: '0123456789abcdef', current: true, versionStatus: 'verified' })]);

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact], factory);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr()).not.toContain('warning');
    expect(sagemaker.commandCalls(DescribeModelCommand)).toHaveLength(1);
  });

  it('says before uploading that an endpoint not deployed yet will serve the model once it is, and registers it', async () => {
    // Prepare
    const { factory, sagemaker, calls } = setUp([undefined, outcome({ version: '0123456789abcdef', current: true, versionStatus: 'unverified' })]);
    sagemaker
      .on(DescribeEndpointCommand, { EndpointName: 'later' })
      .rejects(sdkError('ValidationException', 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/later".'));

    // Act
    const result = await run(['models', 'add', 'later', 'm1', artifact], factory);

    // Assess
    expect(result.code).toBe(0);
    const stderr = result.stderr();
    const warning =
      'warning: endpoint "later" not found; the model is registered now and served once a multi-model endpoint of that name is deployed\n';
    expect(stderr).toContain(warning);
    expect(stderr.indexOf(warning)).toBeLessThan(stderr.indexOf('uploading'));
    expect(calls).toContain('put incoming/later/m1.tar.gz');
  });

  it('refuses, uploading nothing, an endpoint that serves one model or a pipeline; --force uploads anyway', async () => {
    // Prepare
    const { factory, sagemaker, calls } = setUp([undefined, outcome({ version: '0123456789abcdef', current: true, versionStatus: 'failed' })]);
    sagemaker.on(DescribeEndpointCommand, { EndpointName: 'pipe1' }).resolves({ EndpointConfigName: 'pipe1-cfg' });
    sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'pipe1-cfg' }).resolves({ ProductionVariants: [{ VariantName: 'v', ModelName: 'pipe1-model' }] });
    sagemaker.on(DescribeModelCommand, { ModelName: 'pipe1-model' }).resolves({ Containers: [{ Image: 'scaler' }, { Image: 'classifier' }] });
    sagemaker.on(DescribeEndpointCommand, { EndpointName: 'single' }).resolves({ EndpointConfigName: 'single-cfg' });
    sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'single-cfg' }).resolves({ ProductionVariants: [{ VariantName: 'v', ModelName: 'single-model' }] });
    sagemaker.on(DescribeModelCommand, { ModelName: 'single-model' }).resolves({ PrimaryContainer: { Image: 'onnx', Mode: 'SingleModel' } });

    // Act
    const pipeline = await run(['models', 'add', 'pipe1', 'm1', artifact, '--json'], factory);
    const single = await run(['models', 'add', 'single', 'm1', artifact], factory);
    const uploadsBeforeForce = calls.filter((call) => call.startsWith('put')).length;
    const forced = await run(['models', 'add', 'single', 'm1', artifact, '--force'], factory);

    // Assess
    expect(pipeline.code).toBe(2);
    expect(JSON.parse(pipeline.stdout()).error).toMatchObject({ name: 'NotMultiModelEndpointError', input: 'endpoint "pipe1"', exitCode: 2 });
    expect(pipeline.stderr()).toContain(
      'smhost: invalid endpoint "pipe1": is not a multi-model endpoint (model pipe1-model is an inference pipeline of 2 containers); ' +
        'models are added only to multi-model endpoints, since SageMaker refuses TargetModel elsewhere (nothing was uploaded; --force uploads anyway',
    );
    expect(single.code).toBe(2);
    expect(single.stderr()).toContain('invalid endpoint "single": is not a multi-model endpoint (model single-model serves a single model (Mode SingleModel))');
    expect(uploadsBeforeForce).toBe(0);
    expect(forced.stderr()).toContain('warning: endpoint "single" is not multi-model (model single-model serves a single model (Mode SingleModel)); uploading anyway (--force)');
    expect(calls).toContain('put incoming/single/m1.tar.gz');
  });

  it('uploads with a warning when the endpoint cannot be checked (e.g. no permission to describe it)', async () => {
    // Prepare
    const { factory, sagemaker } = setUp([undefined, outcome({ version: '0123456789abcdef', current: true, versionStatus: 'verified' })]);
    sagemaker.on(DescribeEndpointCommand).rejects(sdkError('AccessDeniedException', 'not authorized to perform sagemaker:DescribeEndpoint'));

    // Act
    const result = await run(['models', 'add', 'ep1', 'm1', artifact], factory);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr()).toContain(
      'warning: could not check endpoint "ep1" (DescribeEndpoint failed: AccessDeniedException: not authorized to perform sagemaker:DescribeEndpoint); uploading anyway',
    );
  });

  it('exits 2 for each bad input, before any AWS call', async () => {
    // Prepare
    const { factory, contextsCreated, sagemaker } = setUp([undefined]);
    const notJson = join(dir, 'not.json');
    await writeFile(notJson, '{"instances": [');

    // Act
    const results = [
      await run(['models', 'add', 'ep_1', 'm1', artifact], factory),
      await run(['models', 'add', 'ep1', 'm1.tar.gz', artifact], factory),
      await run(['models', 'add', 'ep1', 'a/../b', artifact], factory),
      await run(['models', 'add', 'ep1', 'm1', 's3://UPPER/key.tar.gz'], factory),
      await run(['models', 'add', 'ep1', 'm1', 'https://example.invalid/m.tar.gz'], factory),
      await run(['models', 'add', 'ep1', 'm1', artifact, '--timeout', 'forever'], factory),
      await run(['models', 'add', 'ep1', 'm1', artifact, '--sample', notJson], factory),
      await run(['models', 'add', 'ep1', 'm1', dir], factory),
    ];

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    const messages = results.map((r) => r.stderr());
    expect(messages[0]).toContain('invalid endpoint "ep_1"');
    expect(messages[1]).toContain('invalid model "m1.tar.gz": must not end with ".tar.gz"');
    expect(messages[2]).toContain('invalid model "a/../b"');
    expect(messages[3]).toContain('invalid source "s3://UPPER/key.tar.gz": bucket "UPPER" is not a valid S3 bucket name');
    expect(messages[4]).toContain('must be a local file or an s3://bucket/key URL');
    expect(messages[5]).toContain('invalid --timeout "forever"');
    expect(messages[6]).toMatch(/invalid --sample ".*not\.json": must be a JSON document/);
    expect(messages[7]).toMatch(/invalid file ".*": must be a regular file/);
    // Arguments are checked before the context exists; file checks need none either, though they run later.
    expect(contextsCreated()).toBeLessThanOrEqual(3);
    expect(sagemaker.calls()).toHaveLength(0);
  });
});

describe('Function: addExitCode', () => {
  it('is 0 for a registered version, 1 for a refusal or failed warm-up, 0 without a wait', () => {
    // Prepare
    const base: AddModelResult = { endpoint: 'e', model: 'm', bucket: 'b', key: 'k', etag: 'x', size: 1 };

    // Assess
    expect(addExitCode(base)).toBe(0);
    expect(addExitCode({ ...base, outcome: outcome({ versionStatus: 'unverified' }) })).toBe(0);
    expect(addExitCode({ ...base, outcome: outcome({ outcome: 'superseded' }) })).toBe(1);
    expect(addExitCode({ ...base, outcome: outcome({ outcome: 'ignored' }) })).toBe(1);
    expect(addExitCode({ ...base, outcome: outcome({ versionStatus: 'failed' }) })).toBe(1);
  });
});

describe('Function: parseArtifactSource', () => {
  it('tells local files from s3 URLs', () => {
    // Assess
    expect(parseArtifactSource('./m.tar.gz')).toEqual({ kind: 'file', path: './m.tar.gz' });
    expect(parseArtifactSource('s3://bucket/a/m.tar.gz')).toEqual({ kind: 's3', location: { bucket: 'bucket', key: 'a/m.tar.gz' } });
  });
});
