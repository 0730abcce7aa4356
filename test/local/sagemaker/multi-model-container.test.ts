import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerProcess } from '../../../src/local/sagemaker';
import { residentBytes } from '../../../src/local/sagemaker/containers/process-memory';
import { buildBallastLinearModel } from '../../../src/onnx';

let root: string;
let container: ContainerProcess;
let limited: ContainerProcess;

async function modelDir(name: string, bias: number, ballastBytes = 0): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), buildBallastLinearModel({ weights: [1, 1], bias, ballastBytes }));
  return dir;
}

function start(name: string, environment: Record<string, string> = {}) {
  return ContainerProcess.start({
    label: name,
    target: { kind: 'builtin', server: 'onnx', environment: {} },
    modelDir: join(root, 'unused'),
    environment: { MALLOC_MMAP_THRESHOLD_: '131072', ...environment },
    multiModel: true,
    logFile: join(root, `${name}.log`),
  });
}

const json = (body: unknown) => Buffer.from(JSON.stringify(body));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mme-container-'));
  container = await start('mme');
  limited = await start('limited', { SMHOST_CONTAINER_MEMORY_LIMIT_BYTES: String(1024 * 1024) });
  await Promise.all([container.waitHealthy(30_000), limited.waitHealthy(30_000)]);
});

afterAll(async () => {
  await container.stop();
  await limited.stop();
  await rm(root, { recursive: true, force: true });
});

describe('Function: the built-in container in multi-model mode', () => {
  it('loads (409 when loaded), lists, describes, invokes and unloads models by name', async () => {
    // Prepare
    const a = await modelDir('a', 10);
    const b = await modelDir('b', 20);

    // Act
    const loadA = await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'a', url: a }), 10_000);
    const again = await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'a', url: a }), 10_000);
    await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'b', url: b }), 10_000);
    const list = await container.request('GET', '/models', {}, undefined, 10_000);
    const page = await container.request('GET', '/models?limit=1', {}, undefined, 10_000);
    const described = await container.request('GET', '/models/b', {}, undefined, 10_000);
    const invokedA = await container.request('POST', '/models/a/invoke', { 'content-type': 'text/csv' }, Buffer.from('1,2\n'), 10_000);
    const invokedB = await container.request('POST', '/models/b/invoke', { 'content-type': 'application/json' }, json({ instances: [[1, 2]] }), 10_000);
    const unloaded = await container.request('DELETE', '/models/a', {}, undefined, 10_000);
    const gone = await container.request('POST', '/models/a/invoke', { 'content-type': 'text/csv' }, Buffer.from('1,2\n'), 10_000);
    const unloadedTwice = await container.request('DELETE', '/models/a', {}, undefined, 10_000);

    // Assess
    expect(loadA.status).toBe(200);
    expect(again.status).toBe(409);
    expect(JSON.parse(list.body.toString())).toEqual({ models: [{ modelName: 'a', modelUrl: a }, { modelName: 'b', modelUrl: b }] });
    expect(JSON.parse(page.body.toString())).toEqual({ models: [{ modelName: 'a', modelUrl: a }], nextPageToken: '1' });
    expect(JSON.parse(described.body.toString())).toEqual({ modelName: 'b', modelUrl: b });
    expect(JSON.parse(invokedA.body.toString())).toEqual({ predictions: [[13]] });
    expect(JSON.parse(invokedB.body.toString())).toEqual({ predictions: [[23]] });
    expect(unloaded.status).toBe(200);
    expect(gone.status).toBe(404);
    expect(unloadedTwice.status).toBe(404);
  });

  it('answers 507 to a load past its memory limit, and 400/404 to bad loads, naming the problem', async () => {
    // Prepare
    const c = await modelDir('c', 1);

    // Act
    const full = await limited.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'c', url: c }), 10_000);
    const noUrl = await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'x' }), 10_000);
    const notJson = await container.request('POST', '/models', { 'content-type': 'application/json' }, Buffer.from('{'), 10_000);
    const empty = await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'e', url: join(root, 'nothing') }), 10_000);
    const single = await container.request('POST', '/invocations', { 'content-type': 'text/csv' }, Buffer.from('1,2\n'), 10_000);

    // Assess
    expect(full.status).toBe(507);
    expect(full.body.toString()).toMatch(/over the limit of 1048576 bytes/);
    expect(noUrl.status).toBe(400);
    expect(noUrl.body.toString()).toMatch(/needs "model_name" and "url"/);
    expect(notJson.status).toBe(400);
    expect(empty.status).toBe(404);
    expect(empty.body.toString()).toMatch(/no ONNX model/);
    expect(single.status).toBe(404);
  });

  it('gives the memory of an unloaded model back, so resident memory tracks what is loaded', async () => {
    // Prepare: a model of 8 MiB of ballast, loaded once to warm onnxruntime up
    const big = await modelDir('big', 0, 8 * 1024 * 1024);
    await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'warm', url: big }), 30_000);
    await container.request('DELETE', '/models/warm', {}, undefined, 10_000);
    const before = residentBytes(container.pid);

    // Act
    await container.request('POST', '/models', { 'content-type': 'application/json' }, json({ model_name: 'big', url: big }), 30_000);
    const loaded = residentBytes(container.pid);
    await container.request('DELETE', '/models/big', {}, undefined, 10_000);
    const after = residentBytes(container.pid);

    // Assess
    expect(loaded - before).toBeGreaterThan(6 * 1024 * 1024);
    expect(loaded - after).toBeGreaterThan(6 * 1024 * 1024);
  });
});
