import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DescribeEndpointCommand, ListModelsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createSageMakerClient } from '../../../src/aws/clients';
import { errorName, httpStatus, isTransientError } from '../../../src/aws/errors';
import { FaultProxyConfigError, startFaultProxy, type FaultProxy } from '../../support/fault-proxy';

let upstream: Server;
let proxy: FaultProxy;
let client: SageMakerClient;
const served: string[] = [];

beforeAll(async () => {
  // Stands in for the emulator: answers every JSON 1.1 call with an empty success, echoing what it got.
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      served.push(`${String(req.headers['x-amz-target'])} ${body}`);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(req.headers['x-amz-target'] === 'SageMaker.ListModels' ? '{"Models":[]}' : '{"EndpointName":"e","EndpointStatus":"InService"}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  proxy = await startFaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  client = createSageMakerClient({ endpoint: proxy.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await proxy?.close();
  await new Promise<void>((resolve) => {
    upstream?.close(() => resolve());
    upstream?.closeAllConnections();
  });
});

beforeEach(() => {
  proxy.reset();
  served.length = 0;
});

async function outcome(command: DescribeEndpointCommand | ListModelsCommand): Promise<string> {
  try {
    await client.send(command as DescribeEndpointCommand);
    return 'ok';
  } catch (error) {
    return `${errorName(error)} ${httpStatus(error)} ${isTransientError(error)}`;
  }
}

describe('Function: startFaultProxy', () => {
  it('answers the first N calls of an operation with SageMaker\'s ThrottlingException, then forwards them untouched', async () => {
    // Prepare
    proxy.inject('DescribeEndpoint', 2);

    // Act
    const results = [];
    for (let i = 0; i < 3; i += 1) results.push(await outcome(new DescribeEndpointCommand({ EndpointName: 'e' })));
    const other = await outcome(new ListModelsCommand({}));

    // Assess
    expect(results).toEqual(['ThrottlingException 400 true', 'ThrottlingException 400 true', 'ok']);
    expect(other).toBe('ok');
    expect(served).toEqual(['SageMaker.DescribeEndpoint {"EndpointName":"e"}', 'SageMaker.ListModels {}']);
    expect(proxy.requests).toEqual([
      { operation: 'DescribeEndpoint', fault: 'ThrottlingException' },
      { operation: 'DescribeEndpoint', fault: 'ThrottlingException' },
      { operation: 'DescribeEndpoint' },
      { operation: 'ListModels' },
    ]);
    expect(proxy.pending()).toEqual({});
  });

  it('holds faults given with after until a call of that operation has been forwarded, and injects other AWS errors', async () => {
    // Prepare
    proxy.inject('DescribeEndpoint', 1, { after: 'ListModels', fault: { code: 'ServiceUnavailable', status: 503, message: 'try later' } });

    // Act
    const before = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));
    await outcome(new ListModelsCommand({}));
    const after = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));

    // Assess
    expect(before).toBe('ok');
    expect(after).toBe('ServiceUnavailable 503 true');
    expect(proxy.pending()).toEqual({});
  });

  it('with lose, lets the call reach the service and replaces only its answer with the fault', async () => {
    // Prepare
    proxy.inject('DescribeEndpoint', 1, { lose: true, fault: { code: 'InternalFailure', status: 500, message: 'lost' } });

    // Act
    const first = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));
    const second = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));

    // Assess
    expect([first, second]).toEqual(['InternalFailure 500 true', 'ok']);
    expect(served).toHaveLength(2);
    expect(proxy.requests).toEqual([
      { operation: 'DescribeEndpoint', fault: 'InternalFailure', reachedService: true },
      { operation: 'DescribeEndpoint' },
    ]);
  });

  it('with beforeNext, holds the next call of an operation until an action has run, then forwards it once', async () => {
    // Prepare: the action itself calls the service, as a rival client would, and the second hook fails.
    proxy.beforeNext('DescribeEndpoint', async () => {
      served.push('action started');
      await outcome(new ListModelsCommand({}));
      served.push('action done');
    });

    // Act
    const held = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));
    const next = await outcome(new DescribeEndpointCommand({ EndpointName: 'e' }));
    proxy.beforeNext('ListModels', () => Promise.reject(new Error('rival failed')));
    const afterFailedAction = await outcome(new ListModelsCommand({}));

    // Assess
    expect([held, next, afterFailedAction]).toEqual(['ok', 'ok', 'ok']);
    expect(served).toEqual([
      'action started',
      'SageMaker.ListModels {}',
      'action done',
      'SageMaker.DescribeEndpoint {"EndpointName":"e"}',
      'SageMaker.DescribeEndpoint {"EndpointName":"e"}',
      'SageMaker.ListModels {}',
    ]);
    expect(proxy.hookErrors.map((error) => (error as Error).message)).toEqual(['rival failed']);
    expect(() => proxy.beforeNext('create-endpoint', async () => undefined)).toThrow(
      new FaultProxyConfigError('operation must be an API operation name such as CreateEndpoint; got "create-endpoint"'),
    );
  });

  it('refuses faults it cannot inject and targets that are not http URLs, naming the setting and the rule', async () => {
    // Act
    const attempts = [
      () => proxy.inject('SageMaker.DescribeEndpoint', 1),
      () => proxy.inject('DescribeEndpoint', 0),
      () => proxy.inject('DescribeEndpoint', 1.5),
      () => proxy.inject('DescribeEndpoint', 1, { fault: { code: 'Throttling', status: 200, message: '' } }),
      () => proxy.inject('DescribeEndpoint', 1, { fault: { code: 'not a code', status: 400, message: '' } }),
      () => proxy.inject('DescribeEndpoint', 1, { after: 'create-endpoint' }),
    ].map((attempt) => {
      try {
        attempt();
        return 'accepted';
      } catch (error) {
        return error instanceof FaultProxyConfigError ? error.message : `unexpected ${String(error)}`;
      }
    });
    const target = await startFaultProxy('ftp://127.0.0.1:21').catch((error: Error) => error);

    // Assess
    expect(attempts).toEqual([
      'operation must be an API operation name such as CreateModel (the part of X-Amz-Target after the dot); got "SageMaker.DescribeEndpoint"',
      'times must be a whole number of at least 1; got 0',
      'times must be a whole number of at least 1; got 1.5',
      'fault.status must be an HTTP error status (400 to 599); got 200',
      'fault.code must be an AWS error code such as ThrottlingException; got "not a code"',
      'after must be an API operation name such as CreateEndpoint; got "create-endpoint"',
    ]);
    expect(target).toBeInstanceOf(FaultProxyConfigError);
    expect((target as Error).message).toBe('target must be an http URL such as http://127.0.0.1:4566; got "ftp://127.0.0.1:21"');
    expect(proxy.pending()).toEqual({});
  });
});
