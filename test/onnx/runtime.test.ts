import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Runs the scaler graph (x - 1) / 2 on 5; `source` is where onnxruntime is imported from. */
const script = (source: string) => `
import * as imported from '${source}';
const ort = imported.ort ?? imported;
import { buildScalerModel } from './src/onnx/index.ts';
const session = await ort.InferenceSession.create(buildScalerModel({ mean: [1], scale: [2] }));
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from([5]), [1, 1]) });
console.log(out[session.outputNames[0]].data[0]);
`;

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ort-telemetry-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('Function: the project onnxruntime module', () => {
  it('runs a graph in a fresh process started without ORT_DISABLE_TELEMETRY and leaves no telemetry log in TMPDIR', async () => {
    // Prepare: the process starts without the variable, as a user's shell would. (The bare package does not
    // write its log every time, so only the absence of ours is asserted.)
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scratch };
    delete env.ORT_DISABLE_TELEMETRY;

    // Act
    const ours = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script('./src/onnx/runtime.ts')], { cwd: REPO_ROOT, env });

    // Assess
    expect(ours.stdout.trim()).toBe('2');
    expect((await readdir(scratch)).filter((name) => name.startsWith('mat-debug-'))).toEqual([]);
  });

  it('turns telemetry off in its own process unless the user set the variable', async () => {
    // Prepare
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scratch };
    delete env.ORT_DISABLE_TELEMETRY;
    const printed = `import './src/onnx/runtime.ts'; console.log(process.env.ORT_DISABLE_TELEMETRY);`;
    const run = (extra: NodeJS.ProcessEnv) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', printed], { cwd: REPO_ROOT, env: { ...env, ...extra } });

    // Act
    const unset = await run({});
    const userSet = await run({ ORT_DISABLE_TELEMETRY: '0' });

    // Assess
    expect(unset.stdout.trim()).toBe('1');
    expect(userSet.stdout.trim()).toBe('0');
  });
});
