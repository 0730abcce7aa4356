/**
 * The README walkthrough, executed: `npm run local` is started as a user starts it (ephemeral, a free port, the
 * clock 100× faster), its banner gives the environment, and every `sh` block between the walkthrough markers of
 * README.md runs in order in one bash, in a folder standing for the repository's root. Each block has a check on
 * what it printed, keyed by its title comment, so the README cannot drift from what works: a block without a
 * check, or a check without a block, fails too.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BashSession, type SnippetRun } from './support/bash-session';
import { firstOutputDirect, fileFromArchive } from './support/iris-reference';
import { REPO_ROOT, startLocalCommand, type LocalCommand } from './support/local-command';
import { readWalkthrough } from './support/readme-walkthrough';
import { createRepoWorkDir, type RepoWorkDir } from './support/repo-work-dir';

const walkthrough = readWalkthrough(join(REPO_ROOT, 'README.md'));
const BLOCK_TIMEOUT_MS = 45_000;

interface Context {
  workDir: string;
  /** Values a check found that later checks compare with. */
  found: Record<string, string>;
}

const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

/** What the Iris graph in the work dir answers, run directly in onnxruntime on `rows`. */
async function directLabels(ctx: Context, rows: number[][]): Promise<number[]> {
  return firstOutputDirect(await fileFromArchive(await readFile(join(ctx.workDir, 'iris.tar.gz'))), rows);
}

/** The check of each block, by the block's title. */
const CHECKS: Record<string, (run: SnippetRun, ctx: Context) => Promise<void> | void> = {
  'the names the stack printed, used below': (run) => {
    expect(run.stdout.trim()).toBe('000000000000');
  },
  'train an Iris classifier and pack it as iris.tar.gz, with a warm-up request in sample.json': async (run, ctx) => {
    const [archive, sample, ...listing] = lines(run.stdout);
    expect(archive).toBe(`wrote ${join(ctx.workDir, 'iris.tar.gz')}: model.onnx, an Iris classifier on columns 0,1,2,3 (held-out accuracy 0.97); it answers {"predictions": [label index 0, 1 or 2]}`);
    expect(sample).toMatch(/^wrote .*sample\.json: \{"instances":\[\[[\d.,]+\]\]\}$/);
    expect(listing).toEqual(['model.onnx']);
    const onnx = await fileFromArchive(await readFile(join(ctx.workDir, 'iris.tar.gz')));
    expect(onnx.length).toBeGreaterThan(0);
  },
  'deploy the multi-model endpoint iris-mme and wait for the execution': (run) => {
    const [outcome, states, endpointStatus] = lines(run.stdout);
    const [status, output] = outcome!.split('\t');
    expect(status).toBe('SUCCEEDED');
    expect(JSON.parse(output!)).toMatchObject({ endpointName: 'iris-mme', endpointStatus: 'InService', operation: 'created' });
    const entered = states!.split('\t');
    expect(entered[0]).toBe('Prepare');
    expect(entered).toEqual(expect.arrayContaining(['CreateModel', 'CreateEndpointConfig', 'CreateEndpoint', 'WaitForEndpoint', 'DescribeEndpoint', 'RecordEndpoint']));
    expect(endpointStatus).toBe('InService');
  },
  'drop iris.tar.gz and its warm-up sample, and wait until the registry names its TargetModel': async (run, ctx) => {
    const archive = await readFile(join(ctx.workDir, 'iris.tar.gz'));
    const version = createHash('sha256').update(archive).digest('hex').slice(0, 16);
    expect(lines(run.stdout)).toEqual([
      'upload: ./sample.json to s3://smhost-dev-artifacts-000000000000/incoming/iris-mme/iris.sample.json',
      'upload: ./iris.tar.gz to s3://smhost-dev-artifacts-000000000000/incoming/iris-mme/iris.tar.gz',
      `iris/${version}.tar.gz`,
    ]);
    ctx.found.version = version;
    ctx.found.target = `iris/${version}.tar.gz`;
  },
  'list the models three ways': (run, ctx) => {
    const version = ctx.found.version!;
    const target = ctx.found.target!;
    const out = lines(run.stdout);
    expect(out[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\d+ models/iris-mme/${target}$`));
    expect(out[1]).toBe(`iris\t${version}\tverified\t${target}`);
    expect(run.stdout).toMatch(new RegExp(`^iris +${version} +verified +1 +${target.replace('.', '\\.')}$`, 'm'));
  },
  'invoke the TargetModel with three flowers': async (run, ctx) => {
    // invoke-endpoint prints the response's metadata, then `cat` prints the body it wrote to the file.
    const body = run.stdout.indexOf('{"predictions"');
    expect(JSON.parse(run.stdout.slice(0, body))).toEqual({ ContentType: 'application/json', InvokedProductionVariant: 'AllTraffic' });
    const rows = (JSON.parse(await readFile(join(ctx.workDir, 'rows.json'), 'utf8')) as { instances: number[][] }).instances;
    const answer = JSON.parse(run.stdout.slice(body)) as { predictions: number[] };
    expect(answer).toEqual(JSON.parse(await readFile(join(ctx.workDir, 'prediction.json'), 'utf8')));
    expect(answer.predictions).toEqual(await directLabels(ctx, rows));
    // One flower of each species, as the README says: the classifier the walkthrough trains tells them apart.
    expect(answer.predictions).toEqual([0, 1, 2]);
  },
  'a model from the live archive, a CSV in S3, the batch-transform state machine, and its .out file': async (run, ctx) => {
    const out = run.stdout;
    expect(out).toContain('"ModelArn": "arn:aws:sagemaker:us-east-1:000000000000:model/iris-classifier"');
    const tail = lines(out.slice(out.indexOf('upload: ./rows.csv')));
    expect(tail[0]).toBe('upload: ./rows.csv to s3://smhost-dev-artifacts-000000000000/batch/input/rows.csv');
    expect(tail[1]).toBe('SUCCEEDED');
    const rows = lines(await readFile(join(ctx.workDir, 'rows.csv'), 'utf8')).map((line) => line.split(',').map(Number));
    expect(tail.slice(2)).toEqual((await directLabels(ctx, rows)).map(String));
  },
};

describe('Function: the README walkthrough against npm run local', () => {
  let local: LocalCommand | undefined;
  let workDir: RepoWorkDir | undefined;
  let shell: BashSession | undefined;
  const ctx: Context = { workDir: '', found: {} };

  beforeAll(async () => {
    workDir = await createRepoWorkDir();
    ctx.workDir = workDir.path;
    local = await startLocalCommand(['--ephemeral', '--port', '0', '--time-scale', '0.01']);
    // The user's shell: the banner's exports over a plain environment, no AWS profile or config of this machine.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('SMHOST_')));
    shell = await BashSession.start({
      cwd: workDir.path,
      env: { ...inherited, ...local.exported, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' },
    });
  }, 90_000);

  afterAll(async () => {
    await shell?.close();
    local?.kill();
    await workDir?.remove();
  });

  it('prints the lines the README shows, with the environment to export (the port aside)', () => {
    // Prepare
    const port = new URL(local!.url).port;

    // Act
    const expected = walkthrough.banner.map((line) => line.replaceAll('127.0.0.1:4566', `127.0.0.1:${port}`));

    // Assess
    expect(expected.length).toBeGreaterThan(0);
    for (const line of expected) expect(local!.banner).toContain(line);
    expect(Object.keys(local!.exported).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']);
  });

  it('has a check for every block, and a block for every check', () => {
    expect(walkthrough.blocks.map((block) => block.title)).toEqual(Object.keys(CHECKS));
  });

  for (const block of walkthrough.blocks) {
    it(`runs "${block.title}" (README.md line ${block.line})`, async () => {
      // Act
      const run = await shell!.run(block.code, { label: `README.md line ${block.line}, "${block.title}"`, timeoutMs: BLOCK_TIMEOUT_MS });

      // Assess
      const check = CHECKS[block.title];
      if (!check) throw new Error(`README.md line ${block.line}: the block "${block.title}" has no check in this test`);
      await check(run, ctx);
    }, BLOCK_TIMEOUT_MS + 5_000);
  }

  it('stops cleanly on Ctrl-C, removing its ephemeral data dir', async () => {
    // Prepare
    const dataDir = /data: ephemeral \((.+), removed at stop\)/.exec(local!.banner.join('\n'))?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir!)).toBe(true);

    // Act
    const stopped = await local!.stop('SIGINT');

    // Assess
    expect(stopped.output).toMatch(/\[local\] SIGINT: stopping\n(.*\n)*\[local\] stopped/);
    expect(stopped.leftovers).toEqual([]);
    expect(existsSync(dataDir!)).toBe(false);
  }, 40_000);
});
