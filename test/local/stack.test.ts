import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_COMMAND_TIME_SCALE, LocalCommandLineError, parseLocalArgs } from '../../src/local/command-line';
import { probeServices } from '../../src/local/readiness';
import { startLocalStack } from '../../src/local/stack';
import { resolveTimeScale, InvalidTimeScaleError } from '../../src/local/time-scale';
import { FIXTURE_BUCKET, FIXTURE_EVENTS_QUEUE, FIXTURE_TABLE, startFixtureStack, toolEnv, type FixtureStack } from './fixture-stack';

const run = promisify(execFile);

describe('Function: startLocalStack', () => {
  let fixture: FixtureStack;

  beforeAll(async () => {
    fixture = await startFixtureStack({ runFunctions: false });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('answers GetCallerIdentity for any key through the SDK (query protocol) and the AWS CLI', async () => {
    const identity = await fixture.clients.sts.send(new GetCallerIdentityCommand({}));
    const cli = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], { env: toolEnv(fixture.stack.url) });
    expect(identity.Account).toBe('000000000000');
    expect(JSON.parse(cli.stdout)).toMatchObject({ Account: '000000000000' });
  });

  it('answers GetCallerIdentity in the JSON protocol', async () => {
    const answer = await fetch(fixture.stack.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSSecurityTokenServiceV20110615.GetCallerIdentity', Authorization: 'AWS4-HMAC-SHA256 Credential=ANYKEY/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0' },
      body: '{}',
    });
    expect(await answer.json()).toMatchObject({ Account: '000000000000' });
  });

  it('routes by the presigned X-Amz-Credential and names an unknown service in an AWS error', async () => {
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'presigned.txt', Body: 'via query' }));
    const presigned = await fetch(`${fixture.stack.url}/${FIXTURE_BUCKET}/presigned.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=KEY%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0`);
    const unknown = await fetch(fixture.stack.url, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', Authorization: 'AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0' }, body: '{}' });
    const states = await fetch(fixture.stack.url, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.0', Authorization: 'AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0' }, body: '{}' });
    expect(await presigned.text()).toBe('via query');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownService', message: expect.stringContaining('"kinesis"') });
    // Step Functions is served at the same edge: a request naming no operation gets its own AWS error.
    expect(states.status).toBe(400);
    expect(((await states.json()) as { __type: string }).__type).toMatch(/UnknownOperation|InvalidAction|UnrecognizedClient/);
  });

  it('answers the SageMaker runtime on its fast path and leaves an S3 request that looks like one to S3', async () => {
    // Each on a new connection: one Node's server has taken over would stay its own.
    const send = (path: string, service: string, body: string) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
        const authorization = `AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;
        const agent = new Agent({ keepAlive: true });
        const req = request(`${fixture.stack.url}${path}`, { method: 'POST', agent, headers: { authorization, 'content-type': 'text/csv' } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            agent.destroy();
            resolve({ status: res.statusCode!, headers: res.headers, text });
          });
        });
        req.on('error', reject);
        req.end(body);
      });

    // A POST to bucket "endpoints", key "x/invocations" (CreateMultipartUpload) has the runtime's path.
    const upload = await send('/endpoints/x/invocations?uploads', 's3', '');
    const invoke = await send('/endpoints/missing/invocations', 'sagemaker', '1,2');

    expect(upload.status).toBe(404);
    expect(upload.text).toContain('<Code>NoSuchBucket</Code>');
    expect(invoke.status).toBe(400);
    expect(invoke.headers['x-amzn-errortype']).toBe('ValidationError');
    expect(JSON.parse(invoke.text)).toMatchObject({ message: 'Endpoint missing of account 000000000000 not found.' });
    // Node's server says Connection: keep-alive on HTTP/1.1, where it is the default; the socket-level fast path does not.
    expect(upload.headers.connection).toBe('keep-alive');
    expect(invoke.headers.connection).toBeUndefined();
    expect(invoke.headers['keep-alive']).toBe('timeout=65');
  });

  it('is ready: every service answers through the edge', async () => {
    expect(await probeServices(fixture.stack.url, 'us-east-1')).toEqual(['s3', 'dynamodb', 'sqs', 'sts']);
  });
});

describe('Function: startLocalStack with a data dir', () => {
  it('keeps objects, table items and queued messages across a restart', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'local-stack-restart-'));
    try {
      const first = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir });
      await first.clients.s3.send(new PutObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'kept/object.bin', Body: 'persisted' }));
      await first.clients.dynamo.send(new PutItemCommand({ TableName: FIXTURE_TABLE, Item: { pk: { S: 'kept' }, value: { N: '7' } } }));
      const eventsUrl = (await first.clients.sqs.send(new GetQueueUrlCommand({ QueueName: FIXTURE_EVENTS_QUEUE }))).QueueUrl!;
      await first.clients.sqs.send(new SendMessageCommand({ QueueUrl: eventsUrl, MessageBody: 'queued before the restart' }));
      await first.close();

      // Act
      const second = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir });
      try {
        const object = await second.clients.s3.send(new GetObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'kept/object.bin' }));
        const item = await second.clients.dynamo.send(new GetItemCommand({ TableName: FIXTURE_TABLE, Key: { pk: { S: 'kept' } } }));
        const url = (await second.clients.sqs.send(new GetQueueUrlCommand({ QueueName: FIXTURE_EVENTS_QUEUE }))).QueueUrl!;
        const messages = await second.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));

        // Assess: the notification configuration was already applied, so no second test event.
        expect(await object.Body!.transformToString()).toBe('persisted');
        expect(item.Item?.value).toEqual({ N: '7' });
        expect(messages.Messages?.map((message) => message.Body)).toEqual([expect.stringContaining('s3:TestEvent'), 'queued before the restart']);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Function: startLocalStack with a bad serverless.yml', () => {
  it('refuses it, naming the file, before creating the data dir', async () => {
    // Prepare
    const parent = await mkdtemp(join(tmpdir(), 'local-stack-bad-yml-'));
    const dataDir = join(parent, 'state');
    try {
      // Act
      const started = startLocalStack({ serverlessYml: join(parent, 'missing.yml'), dataDir, timeScale: 0.01 });

      // Assess
      await expect(started).rejects.toThrow(/cannot read serverless\.yml at .*missing\.yml/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('Function: parseLocalArgs', () => {
  it('reads the documented options', () => {
    expect(parseLocalArgs(['--port', '0', '--data-dir', 'd', '--time-scale', '0.01'])).toMatchObject({ port: 0, dataDir: 'd', ephemeral: false, timeScale: 0.01 });
    expect(parseLocalArgs(['--ephemeral'])).toMatchObject({ ephemeral: true });
    expect(parseLocalArgs([])).toMatchObject({ port: 4566, dataDir: '.local', ephemeral: false, triggerSchedules: false });
    expect(parseLocalArgs(['--trigger-schedules', '--stage', 'qa', '--config', 'other.yml'])).toMatchObject({ triggerSchedules: true, serverlessYml: 'other.yml', options: { stage: 'qa' } });
  });

  it('runs 100 times faster than AWS unless --time-scale or SMHOST_TIME_SCALE says otherwise', () => {
    expect(parseLocalArgs([], {}).timeScale).toBe(LOCAL_COMMAND_TIME_SCALE);
    expect(LOCAL_COMMAND_TIME_SCALE).toBe(0.01);
    expect(parseLocalArgs(['--time-scale', '1'], {}).timeScale).toBe(1);
    // A good variable is left to the stack to apply; a bad one is refused here, naming it.
    expect(parseLocalArgs([], { SMHOST_TIME_SCALE: '0.5' }).timeScale).toBeUndefined();
    expect(parseLocalArgs([], { SMHOST_TIME_SCALE: ' ' }).timeScale).toBe(LOCAL_COMMAND_TIME_SCALE);
    expect(() => parseLocalArgs([], { SMHOST_TIME_SCALE: 'abc' })).toThrow(LocalCommandLineError);
    expect(() => parseLocalArgs([], { SMHOST_TIME_SCALE: 'abc' })).toThrow(/^SMHOST_TIME_SCALE must be a number .*; got "abc"$/);
  });

  it('refuses bad values, naming the option and the rule', () => {
    expect(() => parseLocalArgs(['--port', '70000'])).toThrow(LocalCommandLineError);
    expect(() => parseLocalArgs(['--port', 'x'])).toThrow(/--port must be an integer from 0 to 65535/);
    expect(() => parseLocalArgs(['--time-scale', '0'])).toThrow(/--time-scale must be a number greater than 0/);
    expect(() => parseLocalArgs(['--bogus'])).toThrow(/usage: npm run local/);
    expect(() => parseLocalArgs(['--ephemeral', '--data-dir', 'd'])).toThrow('--ephemeral keeps state in a temporary folder removed at stop; it cannot be used with --data-dir "d"');
    expect(() => parseLocalArgs(['--data-dir', 'package.json'])).toThrow('--data-dir "package.json" is a file; it must be a directory (created when missing)');
    for (const stage of ['Bad Stage', 'Prod', 'a--b', 'x-', 'x'.repeat(33)]) {
      expect(() => parseLocalArgs(['--stage', stage])).toThrow(`--stage "${stage}" must be lowercase letters and digits`);
    }
    expect(parseLocalArgs(['--stage', 'team-a2']).options).toMatchObject({ stage: 'team-a2' });
  });
});

describe('Function: resolveTimeScale', () => {
  it('prefers the explicit value, then SMHOST_TIME_SCALE, then real time', () => {
    expect(resolveTimeScale(0.5, { SMHOST_TIME_SCALE: '0.01' })).toBe(0.5);
    expect(resolveTimeScale(undefined, { SMHOST_TIME_SCALE: '0.01' })).toBe(0.01);
    expect(resolveTimeScale(undefined, {})).toBe(1);
  });

  it('refuses a malformed scale, naming where it came from', () => {
    expect(() => resolveTimeScale(undefined, { SMHOST_TIME_SCALE: 'fast' })).toThrow(InvalidTimeScaleError);
    expect(() => resolveTimeScale(undefined, { SMHOST_TIME_SCALE: 'fast' })).toThrow(/^SMHOST_TIME_SCALE must be a number greater than 0 and at most 1000 \(1 = real time, 0\.01 = 100x faster\); got "fast"$/);
    expect(() => resolveTimeScale(-1, {})).toThrow(/timeScale must be a number greater than 0/);
  });
});
