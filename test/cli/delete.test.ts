import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointsCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isNotFound } from '../../src/cli/delete/sagemaker-teardown';
import { mockedContext, run, stubRegistry } from './fakes';

const notFound = (what: string) => Object.assign(new Error(`Could not find ${what}.`), { name: 'ValidationException' });

interface FakeEndpoint {
  status: string;
  config: string;
  pending?: string;
}

/**
 * A SageMaker double holding endpoints, configs and models as plain maps, answering Describe/List/Delete as
 * SageMaker does (a missing resource is a ValidationException "Could not find ...").
 */
function fakeSageMaker(state: { endpoints: Record<string, FakeEndpoint>; configs: Record<string, string[]>; models: string[] }) {
  const fakes = mockedContext(stubRegistry({}));
  const sagemaker = mockClient(fakes.context.clients.sagemaker);
  sagemaker.on(ListEndpointsCommand).callsFake(async () => ({
    Endpoints: Object.entries(state.endpoints).map(([name, e]) => ({
      EndpointName: name,
      EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${name}`,
      EndpointStatus: e.status,
      CreationTime: new Date(),
      LastModifiedTime: new Date(),
    })),
  }));
  sagemaker.on(DescribeEndpointCommand).callsFake(async ({ EndpointName }) => {
    const endpoint = state.endpoints[EndpointName];
    if (!endpoint) throw notFound(`endpoint "${EndpointName}"`);
    return {
      EndpointName,
      EndpointStatus: endpoint.status,
      EndpointConfigName: endpoint.config,
      ...(endpoint.pending ? { PendingDeploymentSummary: { EndpointConfigName: endpoint.pending } } : {}),
    };
  });
  sagemaker.on(DescribeEndpointConfigCommand).callsFake(async ({ EndpointConfigName }) => {
    const models = state.configs[EndpointConfigName];
    if (!models) throw notFound(`endpoint configuration "${EndpointConfigName}"`);
    return { EndpointConfigName, ProductionVariants: models.map((ModelName, i) => ({ VariantName: `v${i}`, ModelName })) };
  });
  sagemaker.on(DescribeModelCommand).callsFake(async ({ ModelName }) => {
    if (!state.models.includes(ModelName)) throw notFound(`model "${ModelName}"`);
    return { ModelName };
  });
  sagemaker.on(DeleteModelCommand).callsFake(async ({ ModelName }) => {
    if (!state.models.includes(ModelName)) throw notFound(`model "${ModelName}"`);
    state.models = state.models.filter((m) => m !== ModelName);
    return {};
  });
  sagemaker.on(DeleteEndpointConfigCommand).callsFake(async ({ EndpointConfigName }) => {
    if (!state.configs[EndpointConfigName]) throw notFound(`endpoint configuration "${EndpointConfigName}"`);
    delete state.configs[EndpointConfigName];
    return {};
  });
  sagemaker.on(DeleteEndpointCommand).callsFake(async ({ EndpointName }) => {
    if (!state.endpoints[EndpointName]) throw notFound(`endpoint "${EndpointName}"`);
    state.endpoints[EndpointName]!.status = 'Deleting';
    return {};
  });
  return { factory: fakes.factory, sagemaker, state };
}

let fake: ReturnType<typeof fakeSageMaker>;
beforeEach(() => {
  fake = fakeSageMaker({
    endpoints: {
      live: { status: 'InService', config: 'live-config' },
      twin: { status: 'InService', config: 'twin-config' },
      updating: { status: 'Updating', config: 'updating-old', pending: 'updating-new' },
    },
    configs: {
      'live-config': ['scaler', 'classifier'],
      'twin-config': ['classifier'],
      'updating-old': ['old-model'],
      'updating-new': ['new-model'],
    },
    models: ['scaler', 'classifier', 'old-model', 'new-model', 'spare'],
  });
});

describe('Command: smhost delete model', () => {
  it('deletes a model no endpoint uses', async () => {
    // Act
    const result = await run(['delete', 'model', 'spare', '--json'], fake.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toEqual({ model: { name: 'spare', outcome: 'deleted' } });
    expect(fake.state.models).not.toContain('spare');
  });

  it('refuses (exit 1) a model in use, naming every endpoint whose config uses it, the pending config of an update included', async () => {
    // Act
    const shared = await run(['delete', 'model', 'classifier'], fake.factory);
    const pending = await run(['delete', 'model', 'new-model', '--json'], fake.factory);

    // Assess
    expect(shared.code).toBe(1);
    expect(shared.stderr()).toBe(
      'smhost: model "classifier" is in use by endpoint live (InService, config live-config), twin (InService, config twin-config); delete or update those endpoints first\n',
    );
    expect(pending.code).toBe(1);
    expect(JSON.parse(pending.stdout()).error).toMatchObject({ name: 'ResourceInUseError', model: 'new-model', endpoints: ['updating'] });
    expect(fake.sagemaker.commandCalls(DeleteModelCommand)).toHaveLength(0);
  });

  it('exits 3 for a model that does not exist and 2 for a name SageMaker would refuse', async () => {
    // Act
    const missing = await run(['delete', 'model', 'ghost'], fake.factory);
    const invalid = await run(['delete', 'model', 'bad_name'], fake.factory);

    // Assess
    expect(missing.code).toBe(3);
    expect(missing.stderr()).toBe('smhost: model "ghost" does not exist\n');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr()).toContain('smhost: invalid model "bad_name": must be 1-63 letters, digits or "-"');
    expect(fake.sagemaker.calls().filter((c) => !(c.args[0] instanceof DescribeModelCommand))).toHaveLength(0);
  });
});

describe('Command: smhost delete endpoint', () => {
  it('deletes the endpoint and its config, and with --with-models the models no other endpoint uses', async () => {
    // Act
    const result = await run(['delete', 'endpoint', 'live', '--with-models', '--json'], fake.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toEqual({
      endpoint: { name: 'live', outcome: 'deleted', previousStatus: 'InService' },
      endpointConfig: { name: 'live-config', outcome: 'deleted' },
      models: [
        { name: 'scaler', outcome: 'deleted' },
        { name: 'classifier', outcome: 'kept', reason: 'in use by endpoint twin (InService, config twin-config)' },
      ],
    });
    expect(fake.state.models).toEqual(['classifier', 'old-model', 'new-model', 'spare']);
    expect(fake.state.configs['live-config']).toBeUndefined();
  });

  it('keeps the models without --with-models, and a config another endpoint shares', async () => {
    // Prepare
    fake.state.endpoints.twin!.config = 'live-config';

    // Act
    const result = await run(['delete', 'endpoint', 'live'], fake.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout()).toBe(
      [
        'endpoint:        live',
        'was:             InService',
        'outcome:         deleted',
        'endpoint config: live-config: kept (in use by endpoint twin (InService, config live-config))',
        '',
      ].join('\n'),
    );
    expect(fake.sagemaker.commandCalls(DeleteModelCommand)).toHaveLength(0);
  });

  it('refuses (exit 1) an endpoint still being created or updated, or already being deleted', async () => {
    // Prepare
    fake.state.endpoints.creating = { status: 'Creating', config: 'live-config' };
    fake.state.endpoints.going = { status: 'Deleting', config: 'live-config' };

    // Act
    const updating = await run(['delete', 'endpoint', 'updating'], fake.factory);
    const creating = await run(['delete', 'endpoint', 'creating', '--json'], fake.factory);
    const going = await run(['delete', 'endpoint', 'going'], fake.factory);

    // Assess
    expect([updating.code, creating.code, going.code]).toEqual([1, 1, 1]);
    expect(updating.stderr()).toBe(
      'smhost: endpoint "updating" is Updating; SageMaker cannot delete it until it is InService, Failed or OutOfService — wait, then retry\n',
    );
    expect(JSON.parse(creating.stdout()).error).toMatchObject({ name: 'ResourceInUseError', endpoint: 'creating', status: 'Creating' });
    expect(going.stderr()).toBe('smhost: endpoint "going" is already being deleted\n');
    expect(fake.sagemaker.commandCalls(DeleteEndpointCommand)).toHaveLength(0);
  });

  it('deletes a Failed endpoint whose config is already gone, reporting the config absent', async () => {
    // Prepare
    fake.state.endpoints.broken = { status: 'Failed', config: 'gone-config' };

    // Act
    const result = await run(['delete', 'endpoint', 'broken', '--with-models', '--json'], fake.factory);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toEqual({
      endpoint: { name: 'broken', outcome: 'deleted', previousStatus: 'Failed' },
      endpointConfig: { name: 'gone-config', outcome: 'absent', reason: 'already deleted' },
      models: [],
    });
  });

  it('exits 3 for an endpoint that does not exist', async () => {
    // Act
    const result = await run(['delete', 'endpoint', 'ghost', '--json'], fake.factory);

    // Assess
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout()).error).toEqual({
      name: 'SageMakerResourceNotFoundError',
      message: 'endpoint "ghost" does not exist',
      exitCode: 3,
      kind: 'endpoint',
      resource: 'ghost',
    });
  });
});

describe('Function: isNotFound', () => {
  it('recognizes SageMaker\'s answers for a missing resource and nothing else', () => {
    // Act / Assess
    expect(isNotFound(notFound('model "m"'))).toBe(true);
    expect(isNotFound(Object.assign(new Error('Could not find requested job'), { name: 'ResourceNotFound' }))).toBe(true);
    expect(isNotFound(Object.assign(new Error('1 validation error detected'), { name: 'ValidationException' }))).toBe(false);
    expect(isNotFound(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))).toBe(false);
  });
});
