import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws, LOCAL_CREDENTIALS } from '../support/local-aws';
import { tarGzBuffer } from '../support/archives';
import { runBin, type BinRun } from './run-bin';

let aws: LocalAws;
let dir: string;
/** A loopback URL where nothing listens (a port taken from the system, then released). */
let closedUrl: string;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: 'bin-test-bucket', table: 'bin-test-registry' });
  dir = await mkdtemp(join(tmpdir(), 'smhost-bin-'));
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  closedUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the real bin from an unrelated directory, configured only by the environment (`overrides` replace
 * variables; undefined removes one). SageMaker is a port where nothing listens: `models add` then warns that
 * it could not check the endpoint, and goes on.
 */
function smhost(args: string[], node?: string, overrides: NodeJS.ProcessEnv = {}): Promise<BinRun> {
  const env: NodeJS.ProcessEnv = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: aws.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoEndpoint,
    AWS_ENDPOINT_URL_SAGEMAKER: closedUrl,
    SMHOST_BUCKET: aws.bucket,
    SMHOST_REGISTRY_TABLE: aws.table,
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return runBin(args, { cwd: dir, env, ...(node ? { node } : {}) });
}

describe('Command: bin/smhost.js', () => {
  it('uploads through the endpoints the environment names, from any directory', async () => {
    // Prepare
    const artifact = join(dir, 'm.tar.gz');
    await writeFile(artifact, await tarGzBuffer([{ name: 'model.json', content: '{}' }]));

    // Act
    const result = await smhost(['models', 'add', 'ep1', 'm1', artifact, '--no-wait', '--json']);

    // Assess
    expect(result.stderr).toContain('uploading');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ bucket: aws.bucket, key: 'incoming/ep1/m1.tar.gz' });
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'incoming/ep1/m1.tar.gz' }));
    expect(head.ContentLength).toBeGreaterThan(0);
  });

  it('propagates the exit codes: 3 for an unknown model, 2 for a bad endpoint name', async () => {
    // Act
    const [notFound, usage] = await Promise.all([
      smhost(['models', 'versions', 'ep1', 'ghost', '--json']),
      smhost(['models', 'list', 'bad_name']),
    ]);

    // Assess
    expect(notFound.code).toBe(3);
    expect(JSON.parse(notFound.stdout).error.exitCode).toBe(3);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('invalid endpoint "bad_name"');
  });

  it('runs under the system Node too, handing over to the project Node when the system one is older', async () => {
    // Prepare: the system Node of this machine, or this one when there is none
    const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path)) ?? process.execPath;

    // Act
    const result = await smhost(['models', 'versions', 'ep1', 'ghost'], systemNode);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('model "ghost" is not registered on endpoint "ep1"');
  });

  it('exits 3 naming a table or bucket that does not exist and the variable that named it', async () => {
    // Prepare
    const artifact = join(dir, 'm3.tar.gz');
    await writeFile(artifact, await tarGzBuffer([{ name: 'model.json', content: '{}' }]));

    // Act
    const [noTable, noBucket] = await Promise.all([
      smhost(['models', 'versions', 'iris-mme', 'iris'], undefined, { SMHOST_REGISTRY_TABLE: 'nope' }),
      smhost(['models', 'add', 'ep1', 'm3', artifact, '--no-wait'], undefined, { SMHOST_BUCKET: 'no-such-bucket' }),
    ]);

    // Assess
    expect(noTable.code).toBe(3);
    expect(noTable.stderr).toBe('smhost: registry table "nope" does not exist (named by SMHOST_REGISTRY_TABLE)\n');
    expect(noBucket.code).toBe(3);
    expect(noBucket.stderr).toContain('smhost: bucket "no-such-bucket" does not exist (named by SMHOST_BUCKET)\n');
    expect(noBucket.stderr).toMatch(/warning: could not check endpoint "ep1" \(DescribeEndpoint failed: .*ECONNREFUSED/);
  });

  it('says an endpoint that does not answer is unreachable, naming the option that set it, not missing credentials', async () => {
    // Act
    const result = await smhost(['--endpoint-url', closedUrl, 'models', 'list', 'x'], undefined, { SMHOST_BUCKET: undefined });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^smhost: cannot reach the AWS endpoint \\(.*ECONNREFUSED.*\\); the endpoint comes from --endpoint-url ${closedUrl}: check it, or start the local stack \\("npm run local"\\)\\n$`),
    );
  });
});
