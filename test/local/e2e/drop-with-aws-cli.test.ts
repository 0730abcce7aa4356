import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../../src/local/stack';
import { HOSTILE_ARCHIVES, tarGzBuffer } from '../../support/archives';
import { eventually, LOCAL_TEST_CREDENTIALS, toolEnv } from '../fixture-stack';

const run = promisify(execFile);
const PROJECT_YML = fileURLToPath(new URL('../../../serverless.yml', import.meta.url));

let stack: LocalStack;
let clients: AwsClients;
let workDir: string;

async function registryItems(): Promise<Array<Record<string, unknown>>> {
  const answer = await clients.dynamo.send(new ScanCommand({ TableName: stack.names.registryTable }));
  return answer.Items ?? [];
}

beforeAll(async () => {
  stack = await startLocalStack({ ephemeral: true, timeScale: 0.01, serverlessYml: PROJECT_YML });
  clients = createClients({ endpoint: stack.url, region: 'us-east-1', credentials: LOCAL_TEST_CREDENTIALS });
  workDir = await mkdtemp(join(tmpdir(), 'local-drop-'));
});

afterAll(async () => {
  for (const client of Object.values(clients)) client.destroy();
  await stack.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('Function: a drop on the local stack with the AWS CLI', () => {
  it('registers an artifact copied by `aws s3 cp` in another process, with a live copy of equal bytes', async () => {
    // Prepare
    const archive = await tarGzBuffer([{ name: 'model.onnx', content: Buffer.alloc(4096, 3) }, { name: 'code/inference.py', content: 'print(1)\n' }]);
    const file = join(workDir, 'm.tar.gz');
    await writeFile(file, archive);

    // Act
    await run('aws', ['s3', 'cp', file, `s3://${stack.names.bucket}/incoming/ep1/m1.tar.gz`], { env: toolEnv(stack.url) });
    const version = await eventually(async () => (await registryItems()).find((item) => item.kind === 'version' && item.model === 'm1'), 15_000, 'the registry record of m1');

    // Assess
    expect(version).toMatchObject({ endpoint: 'ep1', model: 'm1' });
    const liveKey = String(version.liveKey);
    expect(liveKey).toMatch(/^models\/ep1\/m1\/[0-9a-f]{16}\.tar\.gz$/);
    const live = await clients.s3.send(new GetObjectCommand({ Bucket: stack.names.bucket, Key: liveKey }));
    expect(Buffer.from(await live.Body!.transformToByteArray()).equals(archive)).toBe(true);
    const listing = await run('aws', ['s3', 'ls', '--recursive', `s3://${stack.names.bucket}/models/ep1/`], { env: toolEnv(stack.url) });
    expect(listing.stdout).toContain(liveKey);
  });

  it('registers keys with spaces and plus signs', async () => {
    const file = join(workDir, 'odd.tar.gz');
    await writeFile(file, await tarGzBuffer([{ name: 'model.onnx', content: 'odd' }]));
    await run('aws', ['s3', 'cp', file, `s3://${stack.names.bucket}/incoming/ep1/my model+v2.tar.gz`], { env: toolEnv(stack.url) });
    const version = await eventually(async () => (await registryItems()).find((item) => item.kind === 'version' && item.model === 'my model+v2'), 15_000, 'the record of "my model+v2"');
    expect(String(version.liveKey)).toMatch(/^models\/ep1\/my model\+v2\//);
  });

  it('refuses a hostile archive and keeps it where it was uploaded, tagged', async () => {
    const file = join(workDir, 'bad.tar.gz');
    await writeFile(file, await HOSTILE_ARCHIVES['not gzip (text)'].build());
    await run('aws', ['s3', 'cp', file, `s3://${stack.names.bucket}/incoming/ep1/bad.tar.gz`], { env: toolEnv(stack.url) });
    const tags = await eventually(async () => {
      const answer = await clients.s3.send(new GetObjectTaggingCommand({ Bucket: stack.names.bucket, Key: 'incoming/ep1/bad.tar.gz' }));
      return answer.TagSet && answer.TagSet.length > 0 ? answer.TagSet : undefined;
    }, 15_000, 'the refusal tags');
    expect(tags.length).toBeGreaterThan(0);
    await clients.s3.send(new HeadObjectCommand({ Bucket: stack.names.bucket, Key: 'incoming/ep1/bad.tar.gz' }));
  });
});
