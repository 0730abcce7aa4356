/**
 * The emulator side of the emulator benchmarks: each runs s3rver and the emulator in a child process of its
 * own (so the emulator's work does not share an event loop with the measuring side), started by running the
 * benchmark's own file again with the argument `emulator`. Not a benchmark itself (no `.bench.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createS3Client, createSageMakerClient } from '../src/aws/clients';
import { startSageMakerServer, type SageMakerServer } from '../src/local/sagemaker';

// s3rver accepts only its own default key pair.
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const ROLE = 'arn:aws:iam::000000000000:role/Bench';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface BenchEmulator {
  s3: S3Client;
  s3Url: string;
  server: SageMakerServer;
  sagemaker: SageMakerClient;
  /** The emulator's data folder (its logs are under `logs/`). */
  dataDir: string;
}

/**
 * Child side: s3rver (with the bucket `bench`) and the emulator (no provisioning delay, real time) in a
 * temporary folder named after `prefix`, which goes when the process does. SIGTERM stops both and exits.
 */
export async function startBenchEmulator(prefix: string): Promise<BenchEmulator> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3') });
  const { port } = await s3rver.run();
  const s3Url = `http://127.0.0.1:${port}`;
  const s3 = createS3Client({ endpoint: s3Url, credentials: CREDENTIALS, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const dataDir = join(root, 'data');
  const server = await startSageMakerServer({ s3, dataDir, provisioningSeconds: 0, timeScale: 1 });
  const sagemaker = createSageMakerClient({ endpoint: server.url, credentials: CREDENTIALS, region: 'us-east-1' });
  process.on('SIGTERM', () => {
    void (async () => {
      await server.close();
      await s3rver.close();
      await rm(root, { recursive: true, force: true });
      process.exit(0);
    })();
  });
  return { s3, s3Url, server, sagemaker, dataDir };
}

/**
 * Measuring side: runs `benchFile` again as the emulator child (with `env` added) and resolves with the
 * first JSON line it prints, which is how the child says it is ready and where.
 */
export function startEmulatorChild(benchFile: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return startChild(['--import', tsx, benchFile, 'emulator'], env);
}

/** Starts `node <args>` and resolves with the first JSON line it prints on stdout. */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, info: JSON.parse(line) as Record<string, unknown> });
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
  });
}
