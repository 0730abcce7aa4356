import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { CONTAINER_STANDBY_ENV } from '../../../src/local/sagemaker/containers/container-standby';
import { buildScalerModel, fitStandardScaler, loadIris, packOnnxModel } from '../../../src/onnx';
import { alive, ONNX_IMAGE, ROLE, startStack, waitForEndpoint, type TestStack } from './support';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'emulator-process.ts');
/** A container that passes `/ping` and never answers anything else, so a transform job on it runs until stopped. */
const HANGING = `require('node:http').createServer((req, res) => { if (req.url === '/ping') res.end(); }).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1')`;

/** Processes this one started that are still there, other than the orphan guard, which outlives a close on purpose. */
function containerChildren(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (command[0] === '/bin/sh') continue;
      found.push(Number(entry));
    } catch {
      // Gone while being read.
    }
  }
  return found;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

describe('Function: SageMakerServer.close (a container dies during shutdown)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // Every container from scratch, so each process this test sees is a container (no standby to tell apart).
    vi.stubEnv(CONTAINER_STANDBY_ENV, 'off');
    stack = await startStack();
    const scaler = await stack.put('scaler/model.tar.gz', await packOnnxModel(buildScalerModel(fitStandardScaler(loadIris().features))));
    await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'scaler', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: scaler } }));
    for (const config of ['scaler', 'scaler-next']) {
      await stack.sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config,
          ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'scaler', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
        }),
      );
    }
    await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'scaler', EndpointConfigName: 'scaler' }));
    await waitForEndpoint(stack.sagemaker, 'scaler', ['InService']);
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await stack?.stop();
    vi.unstubAllEnvs();
  });

  it('starts no replacement for a container that dies while close waits for an update under way', async () => {
    // Prepare: an update is starting its container, so close has a transition to wait for.
    const errors = vi.spyOn(console, 'error');
    const [container] = stack.server.emulator.containers('scaler');
    await stack.sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'scaler', EndpointConfigName: 'scaler-next' }));
    expect(await until(() => containerChildren().length === 2, 20_000)).toBe(true);

    // Act: as with Ctrl-C, the container dies as the close begins.
    process.kill(container!.pid!, 'SIGKILL');
    await stack.server.close();

    // Assess
    expect(errors.mock.calls.flat().join('\n')).not.toContain('starting a replacement');
    expect(alive(container!.pid)).toBe(false);
    expect(containerChildren()).toEqual([]);
    errors.mockRestore();
  });

  it('stops a replacement that is still starting when close begins', async () => {
    // Prepare: a restart brings the endpoint back with a new container.
    await stack.restart();
    expect(await until(() => stack.server.emulator.containers('scaler').length === 1, 20_000)).toBe(true);
    const [container] = stack.server.emulator.containers('scaler');
    let closing: Promise<void> | undefined;
    const errors = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      if (String(args[0]).includes('starting a replacement')) closing ??= stack.server.close();
    });

    // Act
    process.kill(container!.pid!, 'SIGKILL');
    expect(await until(() => closing !== undefined, 5000)).toBe(true);
    await closing;
    // A replacement close did not wait for would show up a few hundred milliseconds later.
    const appeared = await until(() => containerChildren().length > 0, 1000);

    // Assess
    expect(errors.mock.calls.flat().join('\n')).toContain('starting a replacement');
    expect(errors.mock.calls.flat().join('\n')).not.toContain('replacement of');
    expect(appeared).toBe(false);
    expect(containerChildren()).toEqual([]);
    errors.mockRestore();
  });

  it('stops the containers of a transform job still running', async () => {
    // Prepare
    const mapDir = mkdtempSync(join(tmpdir(), 'sm-image-map-'));
    try {
      writeFileSync(join(mapDir, 'image-map.json'), JSON.stringify({ images: { 'local/hanging:1': { command: [process.execPath, '-e', HANGING] } } }));
      await stack.restart({ imageMapFile: join(mapDir, 'image-map.json') });
      const input = await stack.put('input/rows.csv', '1,2,3,4\n');
      await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'hanging', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'local/hanging:1' } }));
      await stack.sagemaker.send(
        new CreateTransformJobCommand({
          TransformJobName: 'hanging',
          ModelName: 'hanging',
          TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input } }, ContentType: 'text/csv' },
          TransformOutput: { S3OutputPath: 's3://models/output/' },
          TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
        }),
      );
      // The endpoint brought back by the restart, and the job's container.
      expect(await until(() => containerChildren().length === 2, 20_000)).toBe(true);

      // Act
      const started = Date.now();
      await stack.server.close();
      const took = Date.now() - started;
      await stack.restart({ recoverEndpoints: false });
      const job = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'hanging' }));

      // Assess
      expect(containerChildren()).toEqual([]);
      expect(took).toBeLessThan(5000);
      expect(job.TransformJobStatus).toBe('Stopped');
    } finally {
      rmSync(mapDir, { recursive: true, force: true });
    }
  });
});

interface FixturePids {
  builtin: number;
  command: number;
  standby: number | undefined;
  guard: number | undefined;
  folders: string[];
}

/** Starts the emulator in a process of its own (see the fixture) and waits for its pids. */
async function emulatorProcess(): Promise<{ pid: number; pids: FixturePids }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const pids = await new Promise<FixturePids>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the emulator process printed no pids within 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as FixturePids);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator process exited with code ${code}:\n${output}`));
    });
  });
  child.stdout.destroy();
  child.stderr.destroy();
  return { pid: child.pid!, pids };
}

function cleanUp(pids: FixturePids): void {
  for (const pid of [pids.builtin, pids.command, pids.standby, pids.guard]) {
    if (pid === undefined || !alive(pid)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
  }
  for (const folder of pids.folders) rmSync(folder, { recursive: true, force: true });
}

describe('Function: ContainerProcess.start (containers in their own process groups)', () => {
  it('stops every container when the emulator process is killed outright', async () => {
    // Prepare
    const { pid, pids } = await emulatorProcess();
    try {
      expect(pids.guard).toBeDefined();

      // Act
      process.kill(pid, 'SIGKILL');

      // Assess: the guard stops the command container, which does not watch its parent.
      const gone = await until(() => ![pids.builtin, pids.command, pids.standby].some(alive), 10_000);
      expect({ builtin: alive(pids.builtin), command: alive(pids.command), standby: alive(pids.standby) }).toEqual({ builtin: false, command: false, standby: false });
      expect(gone).toBe(true);
    } finally {
      cleanUp(pids);
    }
  });

  it('still has the built-in container and the standby end on their own when the guard is gone too', async () => {
    // Prepare
    const { pid, pids } = await emulatorProcess();
    try {
      process.kill(pids.guard!, 'SIGKILL');
      await until(() => !alive(pids.guard), 2000);

      // Act
      process.kill(pid, 'SIGKILL');

      // Assess: the built-in container watches its parent, the standby its IPC channel.
      await until(() => !alive(pids.builtin) && !alive(pids.standby), 10_000);
      expect({ builtin: alive(pids.builtin), standby: alive(pids.standby) }).toEqual({ builtin: false, standby: false });
    } finally {
      cleanUp(pids);
    }
  });
});
