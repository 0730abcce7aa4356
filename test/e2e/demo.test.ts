import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runDemo } from '../../src/demo/main';
import { REPO_ROOT } from './support/local-command';

describe('Function: runDemo', () => {
  it('runs the whole mission on the local stack and verifies every step', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const run = await runDemo((line) => lines.push(line));

    // Assess
    expect(run.records.filter((r) => !r.ok)).toEqual([]);
    expect(run.records.map((r) => r.name)).toEqual([
      'Train Iris models and package them as model.tar.gz',
      'Start the local stack (S3, DynamoDB, SQS, SageMaker, Step Functions, the Lambdas)',
      'Deploy multi-model endpoint iris-mme with deploy-multi-model-endpoint',
      'Drop 3 artifacts into incoming/iris-mme/',
      'Invoke each model through its TargetModel on held-out rows',
      'Refuse hostile uploads, and keep them',
      'Drop a new version of iris-petal',
      'Roll back iris-petal by uploading the old content',
      'Deploy a three-container serial pipeline iris-pipeline with deploy-pipeline-model',
      'Invoke the pipeline with raw measurements, get species names back',
      'Register the pipeline as a model package with register-model-package',
      'Score a CSV in S3 with batch-transform and read the .out file back',
    ]);
    const output = lines.join('\n');
    // What each step verified, in its own words: warm-up, exact answers, refusal rules, the package and the transform.
    expect(output).toMatch(/3 registered, current and warmed up/);
    expect(output).toMatch(/3 models answer exactly as onnxruntime does/);
    expect(output).toMatch(/parent-traversal/);
    expect(output).toMatch(/model-package\/iris-pipeline\/1 \(Approved, 3 containers\)/);
    expect(output).toMatch(/30 records scored under s3:\/\/.*\/batch\/output\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\//);
    expect(output).toMatch(/endpoint iris-pipeline: InService/);
  }, 180_000);
});

describe('Function: npm run demo interrupted', () => {
  it('stops the local stack on SIGTERM mid-run, removing its ephemeral data dir, and exits 130', async () => {
    // Prepare: a TMPDIR of its own, so what the demo leaves there is all that is there.
    const scratch = await mkdtemp(join(tmpdir(), 'demo-interrupted-'));
    const child = spawn('npm', ['run', '--silent', 'demo'], { cwd: REPO_ROOT, env: { ...process.env, TMPDIR: scratch }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Act: the signal goes to npm alone, once the stack is up and the demo is deploying.
      await vi.waitUntil(() => output.includes('edge at '), { timeout: 60_000, interval: 50 });
      const dataDirs = (await readdir(scratch)).filter((name) => name.startsWith('smhost-local-'));
      child.kill('SIGTERM');
      const code = await exited;

      // Assess
      expect(dataDirs).toHaveLength(1);
      expect(code).toBe(130);
      expect(output).toContain('SIGTERM: the demo was interrupted; stopping the local stack');
      expect((await readdir(scratch)).filter((name) => name.startsWith('smhost-local-'))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await rm(scratch, { recursive: true, force: true });
    }
  }, 90_000);
});
