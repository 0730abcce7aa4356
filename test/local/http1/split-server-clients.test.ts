/**
 * The runtime on plain sockets in front of Node's server (`http1/split-server.ts`), driven by real clients
 * against a real endpoint: SDK clients that share keep-alive connections between the control plane and the
 * runtime, boto3, raw sockets that pipeline, chunk, half-close and disconnect, on the standalone emulator
 * and on the local stack's edge. Every connection here starts on the socket server; the assertions check
 * that each request gets the answer it would get from Node's server alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { createSageMakerClient, createSageMakerRuntimeClient } from '../../../src/aws/clients';
import { CREDENTIALS, ECHO_CONTAINER, ROLE, startStack, waitForEndpoint, type TestStack } from '../sagemaker/support';
import { runPython } from '../../support/python';
import { FIXTURE_BUCKET, LOCAL_TEST_CREDENTIALS, startFixtureStack, toolEnv, type FixtureStack } from '../fixture-stack';

const MB6 = 6 * 1024 * 1024;


let mapDir: string;
let imageMap: string;

beforeAll(() => {
  mapDir = mkdtempSync(join(tmpdir(), 'split-clients-map-'));
  imageMap = join(mapDir, 'image-map.json');
  writeFileSync(imageMap, JSON.stringify({ images: { 'local/echo:1': { command: [process.execPath, '-e', ECHO_CONTAINER] } } }));
});

afterAll(() => rmSync(mapDir, { recursive: true, force: true }));

async function deployEcho(sagemaker: SageMakerClient, name: string): Promise<void> {
  await sagemaker.send(new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'local/echo:1' } }));
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: name, InitialInstanceCount: 1, InstanceType: 'ml.t2.medium' }],
    }),
  );
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  await waitForEndpoint(sagemaker, name, ['InService']);
}

/** Control-plane and runtime clients built by `src/aws/clients.ts` that send through one request handler, hence one pool of keep-alive connections. */
function sharedClients(endpoint: string, credentials = CREDENTIALS): { control: SageMakerClient; runtime: SageMakerRuntimeClient; destroy(): void } {
  const control = createSageMakerClient({ endpoint, credentials, region: 'us-east-1', maxAttempts: 1 });
  const runtime = createSageMakerRuntimeClient({ endpoint, credentials, region: 'us-east-1', maxAttempts: 1 });
  // The handler is read from the config when a command is first resolved, so the runtime sends on the control client's connections.
  runtime.config.requestHandler = control.config.requestHandler;
  return {
    control,
    runtime,
    destroy() {
      control.destroy();
      runtime.destroy();
    },
  };
}

/** A TCP relay in front of `port` that counts the connections clients open, so a test can tell they were shared. */
async function countingRelay(port: number): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayPort = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Writes `chunks` on one connection (`{ waitMs }` pauses, `'half-close'` ends the client's side) and resolves with everything read until the server closes or 400 ms pass quietly. */
function exchange(port: number, chunks: Array<string | Buffer | { waitMs: number } | 'half-close'>, quietMs = 400): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      arm();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (chunk === 'half-close') socket.end();
        else if (typeof chunk === 'object' && 'waitMs' in chunk) await new Promise((r) => setTimeout(r, chunk.waitMs));
        else socket.write(chunk);
      }
      arm();
    });
  });
}

/** The status lines and bodies of the answers in `text`, in order. */
function answers(text: string): Array<{ status: number; headers: Record<string, string>; body: string }> {
  const found = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const lines = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const status = Number(lines[0]!.split(' ')[1]);
    const length = status === 100 ? 0 : Number(headers['content-length'] ?? 0);
    if (status !== 100) found.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return found;
}

const invocation = (endpoint: string, body: string, extra = ''): string =>
  `POST /endpoints/${endpoint}/invocations HTTP/1.1\r\nHost: local\r\nContent-Type: text/csv\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('Function: startSageMakerServer (runtime on plain sockets)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ imageMapFile: imageMap });
    await deployEcho(stack.sagemaker, 'echo');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves control-plane and runtime calls of two SDK clients sharing one keep-alive connection', async () => {
    // Prepare
    const relay = await countingRelay(stack.server.port);
    const { control, runtime, destroy } = sharedClients(relay.url);

    try {
      // Act
      const described = await control.send(new DescribeEndpointCommand({ EndpointName: 'echo' }));
      const first = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', ContentType: 'text/csv', CustomAttributes: 'a=1', Body: '1,2' }));
      const again = await control.send(new DescribeEndpointCommand({ EndpointName: 'echo' }));
      const second = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', ContentType: 'application/json', Body: '{"x":1}' }));
      const missing = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'missing', Body: 'x' })).catch((error: Error) => error);
      const third = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: 'last' }));

      // Assess
      expect(described.EndpointStatus).toBe('InService');
      expect(again.EndpointStatus).toBe('InService');
      expect(Buffer.from(first.Body!).toString()).toBe('1,2');
      expect(first).toMatchObject({ ContentType: 'text/csv', InvokedProductionVariant: 'AllTraffic', CustomAttributes: 'echoed 3' });
      expect(Buffer.from(second.Body!).toString()).toBe('{"x":1}');
      expect(second.ContentType).toBe('application/json');
      expect(missing).toMatchObject({ name: 'ValidationError', message: 'Endpoint missing of account 000000000000 not found.', $metadata: { httpStatusCode: 400 } });
      expect(Buffer.from(third.Body!).toString()).toBe('last');
      // The first call went to Node's server and took the connection with it; the runtime's calls followed on it.
      expect(relay.connections()).toBe(1);
    } finally {
      destroy();
      await relay.close();
    }
  });

  it('takes a payload of exactly 6 MB, answers 6 MB + 1 byte with a 413 ValidationError, and serves the next call on the same client', async () => {
    // Prepare
    const exact = Buffer.alloc(MB6, 7);
    const over = Buffer.alloc(MB6 + 1, 7);

    // Act
    const accepted = await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: exact }));
    const refused = await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: over })).catch((error: Error) => error);
    const after = await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: 'after' }));

    // Assess
    expect(Buffer.from(accepted.Body!).equals(exact)).toBe(true);
    expect(refused).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 413 } });
    expect((refused as Error).message).toContain('6291456 bytes');
    expect(Buffer.from(after.Body!).toString()).toBe('after');
  });

  it('answers pipelined invocations in order, then hands a control-plane request with Expect: 100-continue to Node', async () => {
    // Prepare: the first invocation is the slowest, so an answer out of order would show.
    const head = `POST / HTTP/1.1\r\nHost: local\r\nX-Amz-Target: SageMaker.DescribeEndpoint\r\nContent-Type: application/x-amz-json-1.1\r\nExpect: 100-continue\r\nContent-Length: 23\r\n\r\n`;

    // Act
    const text = await exchange(stack.server.port, [invocation('echo', 'sleep:150 first') + invocation('echo', 'second') + invocation('echo', 'third') + head, { waitMs: 300 }, '{"EndpointName":"echo"}']);

    // Assess
    const got = answers(text);
    expect(got.map((a) => a.body.slice(0, 15))).toEqual(['sleep:150 first', 'second', 'third', expect.stringContaining('{"EndpointName"')]);
    expect(text).toContain('HTTP/1.1 100 Continue\r\n');
    expect(JSON.parse(got[3]!.body)).toMatchObject({ EndpointName: 'echo', EndpointStatus: 'InService' });
  });

  it('reads a chunked invocation body, and drops a chunked body over 6 MB with a 413 on a connection that still serves', async () => {
    // Prepare
    const chunked = 'POST /endpoints/echo/invocations HTTP/1.1\r\nHost: local\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n';
    const overSize = (MB6 + 1).toString(16);

    // Act
    const small = await exchange(stack.server.port, [chunked + '3;ext=1\r\n1,2\r\n', { waitMs: 30 }, '2\r\n,3\r\n0\r\nTrailer: x\r\n\r\n']);
    const large = await exchange(stack.server.port, [chunked + `${overSize}\r\n`, Buffer.alloc(MB6 + 1, 65), '\r\n0\r\n\r\n' + invocation('echo', 'next')], 1000);

    // Assess
    expect(answers(small)).toEqual([expect.objectContaining({ status: 200, body: '1,2,3' })]);
    const [refused, next] = answers(large);
    expect(refused).toMatchObject({ status: 413, headers: { 'x-amzn-errortype': 'ValidationError' } });
    expect(next).toMatchObject({ status: 200, body: 'next' });
  });

  it('finds an endpoint named with percent-encoding, refuses a malformed one, and answers a request whose client half-closed after sending it', async () => {
    // Act
    const encoded = await exchange(stack.server.port, [invocation('e%63ho', 'encoded')]);
    const malformed = await exchange(stack.server.port, [invocation('ec%zzho', 'x')]);
    const halfClosed = await exchange(stack.server.port, [invocation('echo', 'sleep:100 half'), 'half-close']);

    // Assess
    expect(answers(encoded)).toEqual([expect.objectContaining({ status: 200, body: 'encoded' })]);
    expect(answers(malformed)).toEqual([expect.objectContaining({ status: 400, headers: expect.objectContaining({ 'x-amzn-errortype': 'ValidationError' }) })]);
    expect(JSON.parse(answers(malformed)[0]!.body)).toMatchObject({ message: 'The endpoint name in the path, "ec%zzho", is not valid percent-encoding.' });
    expect(answers(halfClosed)).toEqual([expect.objectContaining({ status: 200, body: 'sleep:100 half' })]);
  });

  it('keeps serving after clients disconnect mid-invocation, mid-body and mid-head, with no unhandled rejection', async () => {
    // Prepare
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);

    try {
      // Act: each client goes away at a different point of its request.
      const cuts = [
        invocation('echo', 'sleep:200 gone'),
        invocation('echo', 'partial body').slice(0, -5),
        'POST /endpoints/echo/invocations HTTP/1.1\r\nHost: lo',
        invocation('echo', 'sleep:100 x') + 'PUT /other HTTP/1.1\r\nHost: local\r\nContent-Length: 100\r\n\r\nabc',
      ];
      await Promise.all(
        cuts.map(
          (bytes) =>
            new Promise<void>((resolve) => {
              const socket = connect(stack.server.port, '127.0.0.1', () => {
                socket.write(bytes);
                setTimeout(() => socket.destroy(), 30);
              });
              socket.on('error', () => undefined);
              socket.on('close', () => resolve());
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      const after = await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: 'still here' }));

      // Assess
      expect(Buffer.from(after.Body!).toString()).toBe('still here');
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('gives boto3 the same answers and error names on one session', async () => {
    // Prepare
    const script = String.raw`
import json, sys, boto3, botocore
s = boto3.session.Session()
rt = s.client("sagemaker-runtime"); sm = s.client("sagemaker")
out = {}
r = rt.invoke_endpoint(EndpointName="echo", ContentType="text/csv", CustomAttributes="k=v", Body=b"4,5")
out["invoke"] = [r["Body"].read().decode(), r["ContentType"], r["InvokedProductionVariant"], r["CustomAttributes"]]
out["status"] = sm.describe_endpoint(EndpointName="echo")["EndpointStatus"]
for label, name, body in [("missing", "missing", b"x"), ("tooLarge", "echo", b"a" * (6 * 1024 * 1024 + 1))]:
    try:
        rt.invoke_endpoint(EndpointName=name, Body=body)
    except botocore.exceptions.ClientError as e:
        out[label] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
out["after"] = rt.invoke_endpoint(EndpointName="echo", Body=b"after")["Body"].read().decode()
print(json.dumps(out))
`;
    const env = { ...toolEnv(stack.server.url), AWS_MAX_ATTEMPTS: '1' };

    // Act
    const result = await runPython(['-c', script], env);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      invoke: ['4,5', 'text/csv', 'AllTraffic', 'echoed 3'],
      status: 'InService',
      missing: ['ValidationError', 400],
      tooLarge: ['ValidationError', 413],
      after: 'after',
    });
  });
});

describe('Function: startLocalStack edge (runtime on plain sockets)', () => {
  let fixture: FixtureStack;
  let previousMap: string | undefined;

  beforeAll(async () => {
    previousMap = process.env.SMHOST_IMAGE_MAP;
    process.env.SMHOST_IMAGE_MAP = imageMap;
    fixture = await startFixtureStack({ runFunctions: false });
    await deployEcho(fixture.clients.sagemaker, 'edge-echo');
  });

  afterAll(async () => {
    await fixture?.close();
    if (previousMap === undefined) delete process.env.SMHOST_IMAGE_MAP;
    else process.env.SMHOST_IMAGE_MAP = previousMap;
  });

  it('answers an invocation the same on a connection S3 has taken over as on a fresh one, with a 20 MB upload between', async () => {
    // Prepare: the runtime client sends on the S3 client's connections, so after the upload Node's server owns them.
    const { s3 } = fixture.clients;
    const { runtime, control, destroy } = sharedClients(fixture.stack.url, LOCAL_TEST_CREDENTIALS);
    runtime.config.requestHandler = s3.config.requestHandler;
    const upload = Buffer.alloc(20 * 1024 * 1024, 3);

    try {
      // Act
      const before = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'edge-echo', ContentType: 'text/csv', Body: '1,2' }));
      await s3.send(new PutObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'split/upload.bin', Body: upload }));
      const after = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'edge-echo', ContentType: 'text/csv', Body: '1,2' }));
      const tooLarge = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'edge-echo', Body: Buffer.alloc(MB6 + 1) })).catch((error: Error) => error);
      const fetched = await s3.send(new GetObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'split/upload.bin' }));
      const stored = Buffer.from(await fetched.Body!.transformToByteArray());
      const described = await control.send(new DescribeEndpointCommand({ EndpointName: 'edge-echo' }));

      // Assess
      for (const answer of [before, after]) {
        expect(Buffer.from(answer.Body!).toString()).toBe('1,2');
        expect(answer).toMatchObject({ ContentType: 'text/csv', InvokedProductionVariant: 'AllTraffic', CustomAttributes: 'echoed 3' });
      }
      expect(tooLarge).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 413 } });
      expect(stored.equals(upload)).toBe(true);
      expect(described.EndpointStatus).toBe('InService');
    } finally {
      destroy();
    }
  });

  it('answers pipelined invocations, then an S3 PUT with Expect: 100-continue on the same connection', async () => {
    // Prepare
    const scope = (service: string) => `Authorization: AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0\r\n`;
    const body = Buffer.alloc(256 * 1024, 9);
    const put = `PUT /${FIXTURE_BUCKET}/split/pipelined.bin HTTP/1.1\r\nHost: local\r\n${scope('s3')}x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`;

    // Act
    const text = await exchange(Number(new URL(fixture.stack.url).port), [
      invocation('edge-echo', 'sleep:100 one', scope('sagemaker')) + invocation('edge-echo', 'two', scope('sagemaker')) + put,
      { waitMs: 300 },
      body,
    ]);
    const stored = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: FIXTURE_BUCKET, Key: 'split/pipelined.bin' }));

    // Assess
    const got = answers(text);
    expect(got.slice(0, 2).map((a) => a.body)).toEqual(['sleep:100 one', 'two']);
    expect(text).toContain('HTTP/1.1 100 Continue\r\n');
    expect(got[2]).toMatchObject({ status: 200, headers: { etag: expect.any(String) } });
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(body)).toBe(true);
  });
});
