import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerProcess } from '../../../src/local/sagemaker';
import { builtinContainerCommand } from '../../../src/local/sagemaker/containers/builtin-container-command';
import {
  CONTAINER_STANDBY_ENV,
  discardStandby,
  prepareStandby,
  standbyCanServe,
  standbyPid,
} from '../../../src/local/sagemaker/containers/container-standby';
import { STANDBY_ARG, WARM_UP_MODEL_BASE64 } from '../../../src/local/sagemaker/onnx-container/standby';
import { encodeModel, node, tensorValue } from '../../../src/onnx';
import { alive, irisModels } from './support';

let dir: string;
const started: ContainerProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'container-standby-'));
  writeFileSync(join(dir, 'model.onnx'), (await irisModels()).classifier);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
  discardStandby();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function start(name: string, environment: Record<string, string> = {}): Promise<ContainerProcess> {
  return ContainerProcess.start({
    label: `standby/AllTraffic/${name}`,
    target: { kind: 'builtin', server: 'onnx', environment: {} },
    modelDir: dir,
    environment,
    multiModel: false,
    logFile: join(dir, 'logs', `${name}.log`),
  }).then((c) => {
    started.push(c);
    return c;
  });
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Function: ContainerProcess.start (with a standby process)', () => {
  it('prepares a standby when a built-in container starts from scratch, and starts the next one from it with its own variables', async () => {
    // Prepare
    const first = await start('first');
    await first.waitHealthy(30_000);
    const standby = await waitFor(standbyPid);

    // Act
    const second = await start('second', { SMHOST_ONNX_OUTPUT: 'probabilities' });
    await second.waitHealthy(30_000);
    const answer = await second.request('POST', '/invocations', { 'content-type': 'application/json' }, Buffer.from('{"instances":[[5.1,3.5,1.4,0.2]]}'), 5000);

    // Assess
    expect(second.pid).toBe(standby);
    expect(readFileSync(join(dir, 'logs', 'second.log'), 'utf8')).toContain(`taken from standby (pid ${standby})`);
    expect(readFileSync(join(dir, 'logs', 'first.log'), 'utf8')).not.toContain('taken from standby');
    expect(answer.status).toBe(200);
    const row = (JSON.parse(answer.body.toString()) as { predictions: number[][] }).predictions[0]!;
    expect(row).toHaveLength(3);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it('reports a standby-started container that fails exactly as a container started from scratch', async () => {
    // Prepare
    const first = await start('healthy');
    await first.waitHealthy(30_000);
    await waitFor(standbyPid);

    // Act
    const bad = await start('bad-output', { SMHOST_ONNX_OUTPUT: 'logits' });
    const error = await bad.waitHealthy(30_000).then(
      () => new Error('healthy'),
      (e: unknown) => e as Error,
    );

    // Assess
    expect(readFileSync(join(dir, 'logs', 'bad-output.log'), 'utf8')).toContain('taken from standby');
    expect(error.message).toMatch(/exited with code 1: onnx container: SMHOST_ONNX_OUTPUT names "logits", the model's outputs are label, probabilities/);
  });

  it('starts a container whose environment acts at process start from scratch, leaving the standby be', async () => {
    // Prepare
    const first = await start('warm');
    await first.waitHealthy(30_000);
    const standby = await waitFor(standbyPid);

    // Act
    const tuned = await start('tuned', { MALLOC_ARENA_MAX: '2' });
    await tuned.waitHealthy(30_000);

    // Assess
    expect(tuned.pid).not.toBe(standby);
    expect(standbyPid()).toBe(standby);
    expect(readFileSync(join(dir, 'logs', 'tuned.log'), 'utf8')).not.toContain('taken from standby');
  });
  it('gives a standby-started container the emulator’s environment as it is at the start, and starts from scratch when start-time variables changed', async () => {
    // Prepare
    const first = await start('before-change');
    await first.waitHealthy(30_000);
    const standby = await waitFor(standbyPid);
    process.env.SMHOST_ONNX_OUTPUT = 'probabilities';
    let fromStandby: ContainerProcess;
    let afterStartChange: ContainerProcess;
    try {
      // Act
      fromStandby = await start('env-now');
      await fromStandby.waitHealthy(30_000);
      await waitFor(standbyPid);
      process.env.UV_THREADPOOL_SIZE = '3';
      afterStartChange = await start('start-variable-changed');
    } finally {
      delete process.env.SMHOST_ONNX_OUTPUT;
      delete process.env.UV_THREADPOOL_SIZE;
    }
    await afterStartChange.waitHealthy(30_000);
    const answer = await fromStandby.request('POST', '/invocations', { 'content-type': 'application/json' }, Buffer.from('{"instances":[[5.1,3.5,1.4,0.2]]}'), 5000);

    // Assess
    expect(fromStandby.pid).toBe(standby);
    expect((JSON.parse(answer.body.toString()) as { predictions: number[][] }).predictions[0]).toHaveLength(3);
    expect(readFileSync(join(dir, 'logs', 'start-variable-changed.log'), 'utf8')).not.toContain('taken from standby');
  });

  it('plans the next standby when a container from the standby stops, and drops the plan when discarded', async () => {
    // Prepare
    const cold = await start('cold');
    await cold.waitHealthy(30_000);
    await waitFor(standbyPid);
    const taken = await start('taken');
    await taken.waitHealthy(30_000);
    const afterTaking = standbyPid();

    // Act
    await taken.stop();
    const next = await waitFor(standbyPid);
    discardStandby();
    await cold.stop();
    discardStandby();
    await new Promise((r) => setTimeout(r, 300));

    // Assess
    expect(afterTaking).toBeUndefined();
    expect(next).not.toBe(taken.pid);
    expect(standbyPid()).toBeUndefined();
  });
});

describe('Function: standbyCanServe', () => {
  it('refuses variables read at process start, and everything when SMHOST_CONTAINER_STANDBY is off', () => {
    // Prepare
    const saved = process.env[CONTAINER_STANDBY_ENV];

    // Act
    const plain = standbyCanServe({ SMHOST_ONNX_OUTPUT: 'y', SAGEMAKER_BATCH: 'true', MY_SETTING: '1' });
    const atStart = ['NODE_OPTIONS', 'UV_THREADPOOL_SIZE', 'LD_PRELOAD', 'MALLOC_MMAP_THRESHOLD_', 'OMP_NUM_THREADS', 'ORT_LOGGING_LEVEL'].map((name) =>
      standbyCanServe({ [name]: '1' }),
    );
    process.env[CONTAINER_STANDBY_ENV] = 'off';
    const off = standbyCanServe({});
    if (saved === undefined) delete process.env[CONTAINER_STANDBY_ENV];
    else process.env[CONTAINER_STANDBY_ENV] = saved;

    // Assess
    expect(plain).toBe(true);
    expect(atStart).toEqual([false, false, false, false, false, false]);
    expect(off).toBe(false);
  });
});

describe('Function: prepareStandby', () => {
  it('leaves no standby behind when the emulator’s process ends without discarding it', async () => {
    // Prepare: a process that prepares a standby, prints its pid and exits.
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const script = `
      import { builtinContainerCommand } from ${JSON.stringify(join(process.cwd(), 'src/local/sagemaker/containers/builtin-container-command.ts'))};
      import { prepareStandby, standbyPid } from ${JSON.stringify(join(process.cwd(), 'src/local/sagemaker/containers/container-standby.ts'))};
      prepareStandby((await builtinContainerCommand()).argv);
      console.log(standbyPid());
    `;

    // Act
    const run = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const pid = Number(run.stdout.trim());
    const gone = await waitFor(() => (alive(pid) ? undefined : true), 10_000);

    // Assess
    expect(run.status).toBe(0);
    expect(pid).toBeGreaterThan(0);
    expect(gone).toBe(true);
  });

  it('keeps one standby at a time, replacing none that is alive for the same command', async () => {
    // Prepare
    const { argv } = await builtinContainerCommand();

    // Act
    prepareStandby(argv);
    const first = standbyPid();
    prepareStandby(argv);

    // Assess
    expect(first).toBeGreaterThan(0);
    expect(standbyPid()).toBe(first);
  });
});

describe('Function: waitForAssignment (the built-in container in standby mode)', () => {
  it('exits with a reason when the emulator sends something that is not an assignment', async () => {
    // Prepare
    const { argv } = await builtinContainerCommand();
    const child = spawn(argv[0]!, [...argv.slice(1), STANDBY_ARG], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));

    // Act
    child.send({ environment: { SAGEMAKER_BIND_TO_PORT: 8080 } });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('onnx container: standby: expected {"environment": {name: value}} from the emulator, got {"environment":{"SAGEMAKER_BIND_TO_PORT":8080}}');
  });

  it('warms onnxruntime up with the one-node Identity graph that src/onnx encodes', () => {
    // Act
    const encoded = encodeModel({ name: 'warm-up', nodes: [node('Identity', ['x'], ['y'])], inputs: [tensorValue('x', 'float', [1])], outputs: [tensorValue('y', 'float', [1])] });

    // Assess
    expect(Buffer.from(encoded).toString('base64')).toBe(WARM_UP_MODEL_BASE64);
  });
});
