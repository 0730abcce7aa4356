import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILTIN_SERVER_SOURCE,
  builtinContainerBundle,
  builtinContainerCommand,
  CONTAINER_CACHE_ENV,
  defaultContainerCacheDir,
} from '../../../src/local/sagemaker/containers/builtin-container-command';
import { freePort } from '../../../src/local/sagemaker/containers/ports';
import { irisModels } from './support';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'builtin-bundle-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function ping(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

describe('Function: builtinContainerCommand', () => {
  it('runs the built-in container from a bundle with plain node, built once and then reused', async () => {
    // Prepare
    const cacheDir = join(root, 'reuse');
    const modelDir = join(root, 'model');
    const { classifier } = await irisModels();
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'model.onnx'), classifier);

    // Act
    const first = await builtinContainerCommand(cacheDir);
    const second = await builtinContainerCommand(cacheDir);
    const port = await freePort();
    const child = spawn(first.argv[0]!, first.argv.slice(1), {
      env: { ...process.env, SAGEMAKER_BIND_TO_PORT: String(port), SM_MODEL_DIR: modelDir },
      stdio: 'ignore',
    });
    let status: number | undefined;
    try {
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = await ping(port);
        if (status !== 200) await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      child.kill('SIGTERM');
    }

    // Assess
    expect(first.argv).toEqual([process.execPath, expect.stringMatching(/onnx-container[/\\]server-[0-9a-f]{24}\.mjs$/)]);
    expect(first.note).toMatch(/^bundle built: /);
    expect(second).toEqual({ argv: first.argv, note: `bundle ${first.argv[1]}` });
    expect(status).toBe(200);
    const manifest = JSON.parse(readFileSync(join(cacheDir, 'onnx-container', 'manifest.json'), 'utf8')) as { inputs: string[] };
    expect(manifest.inputs).toContain('src/local/sagemaker/onnx-container/server.ts');
    expect(manifest.inputs).toContain('src/local/sagemaker/onnx-container/codec.ts');
  });

  it('rebuilds when the sources no longer hash to what the manifest recorded, and removes the stale bundle', async () => {
    // Prepare
    const cacheDir = join(root, 'stale');
    const built = await builtinContainerBundle(cacheDir);
    const folder = join(cacheDir, 'onnx-container');
    const manifestFile = join(folder, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { hash: string };
    const staleHash = 'f'.repeat(64);
    writeFileSync(join(folder, `server-${staleHash.slice(0, 24)}.mjs`), 'throw new Error("stale");');
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, hash: staleHash }));

    // Act
    const rebuilt = await builtinContainerBundle(cacheDir);

    // Assess
    expect(built.built).toBe(true);
    expect(rebuilt).toEqual({ file: built.file, built: true });
    expect(readdirSync(folder).filter((f) => f.endsWith('.mjs'))).toEqual([built.file.split(/[/\\]/).pop()]);
    expect(JSON.parse(readFileSync(manifestFile, 'utf8')).hash).toBe(manifest.hash);
  });

  it('shares one build between concurrent callers', async () => {
    // Prepare
    const cacheDir = join(root, 'concurrent');

    // Act
    const results = await Promise.all(Array.from({ length: 4 }, () => builtinContainerBundle(cacheDir)));

    // Assess
    expect(new Set(results.map((r) => r.file)).size).toBe(1);
    expect(results.every((r) => r.built)).toBe(true);
    expect(readdirSync(join(cacheDir, 'onnx-container')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('falls back to the TypeScript source through tsx, saying why, when the cache folder cannot be written', async () => {
    // Prepare
    const blocked = join(root, 'blocked');
    writeFileSync(blocked, 'a file where the cache folder should be');

    // Act
    const command = await builtinContainerCommand(blocked);

    // Assess
    expect(command.argv).toEqual([process.execPath, '--import', expect.stringMatching(/^file:.*tsx/), BUILTIN_SERVER_SOURCE]);
    expect(command.note).toMatch(/^TypeScript source through tsx \(cannot write the bundle into .*blocked.*onnx-container: (ENOTDIR|EEXIST)\)$/);
    expect(existsSync(BUILTIN_SERVER_SOURCE)).toBe(true);
  });
});

describe('Function: defaultContainerCacheDir', () => {
  it('takes SMHOST_CACHE_DIR, else the package’s node_modules/.cache/smhost', () => {
    // Act
    const named = defaultContainerCacheDir({ [CONTAINER_CACHE_ENV]: join(root, 'named') });
    const fallback = defaultContainerCacheDir({ [CONTAINER_CACHE_ENV]: '' });

    // Assess
    expect(named).toBe(join(root, 'named'));
    expect(fallback).toMatch(/node_modules[/\\]\.cache[/\\]smhost$/);
  });
});
