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
  it('runs a graph in a fresh process and leaves no telemetry log in TMPDIR, where the bare package leaves one', async () => {
    // Prepare: the processes start without the variable, as a user's shell would.
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scratch };
    delete env.ORT_DISABLE_TELEMETRY;
    const run = (source: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(source)], { cwd: REPO_ROOT, env });
    const telemetryLogs = async () => (await readdir(scratch)).filter((name) => name.startsWith('mat-debug-'));

    // Act
    const ours = await run('./src/onnx/runtime.ts');
    const afterOurs = await telemetryLogs();
    const bare = await run('onnxruntime-node');

    // Assess
    expect(ours.stdout.trim()).toBe('2');
    expect(afterOurs).toEqual([]);
    expect(bare.stdout.trim()).toBe('2');
    expect(await telemetryLogs()).toHaveLength(1);
  });
});
