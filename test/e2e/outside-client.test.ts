/**
 * The local stack driven from outside: a python3 process with boto3 and no project code (outside_client.py),
 * configured by the standard environment only. It starts a state machine, drops an archive, waits for the
 * registration and invokes the endpoint with TargetModel; the test compares the answer with onnxruntime run
 * directly on the same rows.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { stateMachineArn } from '../../src/local/stepfunctions/arns';
import { buildIrisArchive, firstOutputDirect, type IrisArchive } from './support/iris-reference';

const run = promisify(execFile);
const PROJECT_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));
const CLIENT = fileURLToPath(new URL('./outside_client.py', import.meta.url));

interface ClientReport {
  execution: { status: string; output: Record<string, unknown> | null; error: string | null; cause: string | null };
  version: string;
  liveKey: string;
  liveBytes: number;
  targetModel: string;
  currentVersion: string;
  invoke: { contentType: string; invokedProductionVariant: string; body: { predictions: number[] } };
}

describe('Function: the local stack driven by boto3 from a second process', () => {
  let stack: LocalStack;
  let iris: IrisArchive;
  let workDir: string;

  beforeAll(async () => {
    [stack, iris] = await Promise.all([startLocalStack({ ephemeral: true, port: 0, timeScale: 0.01, serverlessYml: PROJECT_YML }), buildIrisArchive()]);
    workDir = await mkdtemp(join(tmpdir(), 'outside-client-'));
  });

  afterAll(async () => {
    await stack?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('deploys with start_execution, registers an S3 drop and serves it through invoke_endpoint with TargetModel', async () => {
    // Prepare
    const archivePath = join(workDir, 'model.tar.gz');
    await writeFile(archivePath, iris.archive);
    const args = {
      stateMachineArn: stateMachineArn({ region: stack.region, accountId: stack.accountId }, 'smhost-dev-deploy-multi-model-endpoint'),
      endpoint: 'outside-mme',
      bucket: stack.names.bucket,
      table: stack.names.registryTable,
      model: 'team-a/iris',
      archive: archivePath,
      rows: iris.heldOut.rows,
      timeoutSeconds: 30,
    };
    // Only what a user's shell would hold: no project variable, no profile of this machine.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('SMHOST_')));
    const env = {
      ...inherited,
      AWS_ENDPOINT_URL: stack.url,
      AWS_DEFAULT_REGION: stack.region,
      AWS_ACCESS_KEY_ID: 'outside',
      AWS_SECRET_ACCESS_KEY: 'outside',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };

    // Act
    const { stdout } = await run('python3', [CLIENT, JSON.stringify(args)], { env, timeout: 50_000 });
    const report = JSON.parse(stdout) as ClientReport;

    // Assess
    expect(report.execution.status, report.execution.cause ?? '').toBe('SUCCEEDED');
    expect(report.execution.output).toMatchObject({ endpointName: 'outside-mme', endpointStatus: 'InService', operation: 'created' });
    const version = createHash('sha256').update(iris.archive).digest('hex').slice(0, 16);
    expect(report).toMatchObject({
      version,
      currentVersion: version,
      liveKey: `models/outside-mme/team-a/iris/${version}.tar.gz`,
      liveBytes: iris.archive.length,
      targetModel: `team-a/iris/${version}.tar.gz`,
    });
    expect(report.invoke).toMatchObject({ contentType: 'application/json', invokedProductionVariant: 'AllTraffic' });
    const direct = await firstOutputDirect(iris.onnx, iris.heldOut.rows);
    expect(report.invoke.body.predictions).toEqual(direct);
    const correct = direct.filter((label, i) => label === iris.heldOut.labels[i]).length;
    expect(correct / direct.length).toBeGreaterThanOrEqual(0.9);
    // The live copy boto3 saw is the uploaded archive, byte for byte.
    const s3 = createS3Client({ endpoint: stack.url, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      const live = await s3.send(new GetObjectCommand({ Bucket: stack.names.bucket, Key: report.liveKey }));
      expect(Buffer.from(await live.Body!.transformToByteArray()).equals(iris.archive)).toBe(true);
    } finally {
      s3.destroy();
    }
  });
});
