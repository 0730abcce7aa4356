import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOfFile, invokeEnvelope } from '../../../src/cli/models/invoke';
import type { ModelRecord } from '../../../src/multimodel/registry';
import { mockedContext, run, stubRegistry } from '../fakes';

const CURRENT: ModelRecord = {
  endpoint: 'ep1',
  model: 'iris',
  currentVersion: '0123456789abcdef',
  currentTargetModel: 'iris/0123456789abcdef.tar.gz',
  status: 'active',
  revision: 3,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smhost-invoke-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function registryWith(record: ModelRecord | undefined) {
  return stubRegistry({ getModel: async () => record });
}

function sdkError(name: string, message: string, status: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, ...extra });
}

describe('Command: smhost models invoke', () => {
  it("invokes the current version's TargetModel and prints the body, ending the line on a terminal or pipe", async () => {
    // Prepare
    const { factory, mocks } = mockedContext(registryWith(CURRENT));
    mocks.runtime.on(InvokeEndpointCommand).resolves({
      Body: Buffer.from('{"predictions":[[0.9,0.1]]}') as never,
      ContentType: 'application/json',
      InvokedProductionVariant: 'AllTraffic',
    });

    // Act
    const result = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{"instances":[[5.1,3.5,1.4,0.2]]}'], factory);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout()).toBe('{"predictions":[[0.9,0.1]]}\n');
    expect(result.stderr()).toContain('invoked iris/0123456789abcdef.tar.gz on ep1 (AllTraffic)');
    const input = mocks.runtime.commandCalls(InvokeEndpointCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ EndpointName: 'ep1', TargetModel: 'iris/0123456789abcdef.tar.gz', ContentType: 'application/json' });
    expect(Buffer.from(input.Body as Uint8Array).toString()).toBe('{"instances":[[5.1,3.5,1.4,0.2]]}');
  });

  it('adds no second newline, and keeps the body byte-exact when stdout is a file or with --output', async () => {
    // Prepare
    const { factory, mocks } = mockedContext(registryWith(CURRENT));
    mocks.runtime
      .on(InvokeEndpointCommand)
      .resolvesOnce({ Body: Buffer.from('setosa\n') as never, ContentType: 'text/csv' })
      .resolves({ Body: Buffer.from([0x89, 0x50, 0x4e, 0x47]) as never, ContentType: 'image/png' });
    const file = join(dir, 'answer.png');

    // Act
    const ended = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], factory);
    const redirected = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], factory, { stdoutIsFile: true });
    const written = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--output', file], factory);
    const writtenJson = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--output', file, '--json'], factory);
    const unwritable = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--output', join(dir, 'missing', 'x.png')], factory);

    // Assess
    expect(ended.stdout()).toBe('setosa\n');
    expect(redirected.stdoutBytes()).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(written.code).toBe(0);
    expect(written.stdout()).toBe('');
    expect(written.stderr()).toContain(`wrote 4 bytes to ${file}`);
    expect(await readFile(file)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(JSON.parse(writtenJson.stdout())).toMatchObject({ targetModel: 'iris/0123456789abcdef.tar.gz', outputFile: file, bytes: 4 });
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr()).toContain(`smhost: invalid --output ${JSON.stringify(join(dir, 'missing', 'x.png'))}: cannot be written (ENOENT)`);
  });

  it('with --json, prints an envelope with TargetModel, content type, variant and the parsed body', async () => {
    // Prepare
    const { factory, mocks } = mockedContext(registryWith(CURRENT));
    mocks.runtime.on(InvokeEndpointCommand).resolves({
      Body: Buffer.from('setosa\n') as never,
      ContentType: 'text/csv',
      InvokedProductionVariant: 'v1',
    });
    const csv = join(dir, 'rows.csv');
    await writeFile(csv, '5.1,3.5,1.4,0.2\n');

    // Act
    const result = await run(['models', 'invoke', 'ep1', 'iris', '--body', csv, '--accept', 'text/csv', '--json'], factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toEqual({
      endpoint: 'ep1',
      model: 'iris',
      version: '0123456789abcdef',
      targetModel: 'iris/0123456789abcdef.tar.gz',
      contentType: 'text/csv',
      invokedProductionVariant: 'v1',
      body: 'setosa\n',
    });
    expect(mocks.runtime.commandCalls(InvokeEndpointCommand)[0]!.args[0].input).toMatchObject({ ContentType: 'text/csv', Accept: 'text/csv' });
  });

  it('exits 1 with the container status and message on a ModelError', async () => {
    // Prepare
    const { factory, mocks } = mockedContext(registryWith(CURRENT));
    mocks.runtime
      .on(InvokeEndpointCommand)
      .rejects(sdkError('ModelError', 'Received client error (400) from primary', 424, { OriginalStatusCode: 400, OriginalMessage: 'bad input' }));

    // Act
    const result = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--json'], factory);

    // Assess
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout()).error).toMatchObject({
      targetModel: 'iris/0123456789abcdef.tar.gz',
      originalStatusCode: 400,
      originalMessage: 'bad input',
    });
  });

  it('exits 3 when the endpoint does not exist, or the model is unknown or removed', async () => {
    // Prepare
    const missingEndpoint = mockedContext(registryWith(CURRENT));
    missingEndpoint.mocks.runtime
      .on(InvokeEndpointCommand)
      .rejects(sdkError('ValidationError', 'Endpoint ep1 of account 000000000000 not found.', 400));
    const unknown = mockedContext(registryWith(undefined));
    const removed = mockedContext(registryWith({ ...CURRENT, status: 'removed', currentVersion: undefined, currentTargetModel: undefined }));

    // Act
    const results = [
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], missingEndpoint.factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], unknown.factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], removed.factory),
    ];

    // Assess
    expect(results.map((r) => r.code)).toEqual([3, 3, 3]);
    expect(results[0]!.stderr()).toContain('endpoint "ep1" does not exist');
    expect(results[1]!.stderr()).toContain('model "iris" is not registered with endpoint "ep1"');
  });

  it('exits 1 when the model has no servable version', async () => {
    // Prepare
    const { factory } = mockedContext(
      registryWith({ ...CURRENT, currentVersion: undefined, currentTargetModel: undefined, reason: 'warm-up failed: ModelError' }),
    );

    // Act
    const result = await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}'], factory);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr()).toContain('has no current version: warm-up failed: ModelError');
  });

  it('exits 2 for a missing, doubled or malformed body, naming the input', async () => {
    // Prepare
    const { factory, contextsCreated } = mockedContext(registryWith(CURRENT));
    const big = join(dir, 'big.json');
    await writeFile(big, Buffer.alloc(6 * 1024 * 1024 + 1, 32));

    // Act
    const results = [
      await run(['models', 'invoke', 'ep1', 'iris'], factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--body', big], factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{oops'], factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--body', join(dir, 'absent.json')], factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--body', big], factory),
      await run(['models', 'invoke', 'ep1', 'iris', '--data', '{}', '--content-type', 'json'], factory),
    ];

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(results[0]!.stderr()).toContain("invalid request body: give --body <file> or --data '<json>'");
    expect(results[1]!.stderr()).toContain('invalid --body/--data: give one of them, not both');
    expect(results[2]!.stderr()).toContain('invalid --data "{oops": must be a JSON document');
    expect(results[3]!.stderr()).toMatch(/invalid --body ".*absent\.json": no such file/);
    expect(results[4]!.stderr()).toContain('InvokeEndpoint accepts at most 6 MB');
    expect(results[5]!.stderr()).toContain('invalid --content-type "json": must be a MIME type');
    expect(contextsCreated()).toBe(0);
  });
});

describe('Function: invokeEnvelope', () => {
  it('keeps binary bodies as base64', () => {
    // Act
    const envelope = invokeEnvelope({
      endpoint: 'e',
      model: 'm',
      version: 'v',
      targetModel: 't',
      contentType: 'application/octet-stream',
      body: new Uint8Array([0xff, 0xfe, 0x00]),
    });

    // Assess
    expect(envelope).toMatchObject({ bodyBase64: '//4A' });
    expect(envelope).not.toHaveProperty('body');
  });
});

describe('Function: contentTypeOfFile', () => {
  it('derives the content type from the extension', () => {
    // Assess
    expect(['a.json', 'b.CSV', 'c.txt', 'd.npy'].map(contentTypeOfFile)).toEqual([
      'application/json',
      'text/csv',
      'text/plain',
      'application/octet-stream',
    ]);
  });
});
