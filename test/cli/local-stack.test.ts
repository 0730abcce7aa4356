/**
 * The command line against the whole local stack (src/local/stack.ts) on the project's own
 * serverless.yml: one edge URL as AWS_ENDPOINT_URL, the bucket named from STS's account id, real S3
 * notifications into the local queue, the registration handler run by the stack's event source.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { tarGzBuffer } from '../support/archives';
import { run } from './fakes';
import { runBin, type BinRun } from './run-bin';

const SERVERLESS_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDSMHOSTCLI', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };

let stack: LocalStack;
let clients: AwsClients;
let dir: string;

beforeAll(async () => {
  // The in-process runs below read credentials the way the SDK does: from the environment.
  Object.assign(process.env, CREDENTIALS);
  stack = await startLocalStack({ ephemeral: true, timeScale: 0.01, serverlessYml: SERVERLESS_YML });
  clients = createClients({
    endpoint: stack.url,
    region: 'us-east-1',
    credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY },
  });
  dir = await mkdtemp(join(tmpdir(), 'smhost-cli-stack-'));
});

afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.destroy();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function smhost(args: string[]): Promise<BinRun> {
  return runBin(args, { cwd: dir, env: { ...CREDENTIALS, AWS_ENDPOINT_URL: stack.url } });
}

async function queueDepth(name: string): Promise<number> {
  const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('Command: smhost against the local stack', () => {
  it('adds a model through AWS_ENDPOINT_URL alone and gets its registration outcome', async () => {
    // Prepare
    const bytes = await tarGzBuffer([{ name: 'model.json', content: '{"weights":"stack"}' }]);
    const path = join(dir, 'm.tar.gz');
    await writeFile(path, bytes);
    const version = createHash('sha256').update(bytes).digest('hex').slice(0, 16);

    // Act
    const added = await smhost(['models', 'add', 'ep1', 'team/m1', path, '--json', '--timeout', '60']);
    const listed = await smhost(['models', 'list', 'ep1', '--json']);

    // Assess
    expect(added.stderr).not.toContain('smhost:');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      bucket: stack.names.bucket,
      outcome: { outcome: 'registered', version, targetModel: `team/m1/${version}.tar.gz`, current: true },
    });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).models).toEqual([expect.objectContaining({ model: 'team/m1', currentVersion: version })]);
  });

  it('uploads a file larger than one part as a multipart upload and still finds its outcome', async () => {
    // Prepare: 9 MiB of random bytes (incompressible, so the archive stays above the 8 MiB part size)
    const bytes = await tarGzBuffer([{ name: 'weights.bin', content: randomBytes(9 * 1024 * 1024) }], 1);
    const path = join(dir, 'big.tar.gz');
    await writeFile(path, bytes);
    const version = createHash('sha256').update(bytes).digest('hex').slice(0, 16);

    // Act
    const result = await run(['models', 'add', 'ep1', 'big', path, '--endpoint-url', stack.url, '--json', '--timeout', '60']);

    // Assess
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout());
    expect(document.etag).toMatch(/-2$/);
    expect(document.outcome).toMatchObject({ outcome: 'registered', version, current: true });
  });

  it('redrives the dead-letter queue into the registration queue', async () => {
    // Prepare: a dead letter holding a message the handler can acknowledge (S3's test event)
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: stack.names.deadLetterQueue }));
    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: stack.names.bucket });
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: testEvent }));
    expect(await queueDepth(stack.names.deadLetterQueue)).toBe(1);

    // Act
    const result = await run(['models', 'redrive', '--endpoint-url', stack.url, '--json'], undefined);

    // Assess
    expect(result.stderr()).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout())).toMatchObject({ moved: 1, failed: 0 });
    expect(await queueDepth(stack.names.deadLetterQueue)).toBe(0);
    for (let i = 0; i < 100 && (await queueDepth(stack.names.queue)) > 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(await queueDepth(stack.names.queue)).toBe(0);
  });

  it('exits 3 for a stage whose stack is not deployed, naming its bucket or table and the stage', async () => {
    // Act
    const result = await smhost(['--stage', 'prod', 'models', 'list', 'iris-mme']);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /^smhost: (bucket "smhost-prod-artifacts-000000000000"|registry table "smhost-prod-registry") does not exist: it is the (artifacts bucket|registry) of stage "prod" \(from --stage prod\); is the stack deployed for that stage\?/,
    );
  });
});
