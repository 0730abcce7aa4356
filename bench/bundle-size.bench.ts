/**
 * The size of each function's bundle, as `serverless package` builds it, against baselines built in the same run:
 *
 *   npm run bench -- bundle-size        (or: npx tsx bench/run.ts bundle-size)
 *
 * Packages the service offline into a temp dir, then for every function prints its zip and its `.mjs`, and
 * compares the `.mjs` with (1) the source files esbuild read to build it (what shipping the handler with its
 * dependencies unbundled would at least carry) and (2) the same entry bundled without minifying. It also times
 * importing the bundle in a fresh Node process against importing an empty module, the part of a cold start the
 * bundle adds (median of a few runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { load } from 'js-yaml';
import { packageService, readZipEntries, repositoryRoot } from '../src/deploy';

const ROUNDS = 5;
// Lambda's limits on a deployment package.
const LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024;
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

interface EsbuildSettings {
  mainFields?: string[];
  target?: string;
  banner?: { js?: string };
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Milliseconds for a fresh Node process to import `file` and exit. */
function importMs(file: string, env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', 'await import(process.argv[1]);', file], {
    env,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`importing ${file} failed: ${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  const root = repositoryRoot();
  const work = mkdtempSync(join(tmpdir(), 'smhost-bundle-size-'));
  try {
    const packaged = await packageService({ outDir: join(work, 'package') });
    const config = load(readFileSync(join(root, 'serverless.yml'), 'utf8')) as {
      custom?: { esbuild?: EsbuildSettings };
      functions: Record<string, { handler: string }>;
    };
    const settings = config.custom?.esbuild ?? {};
    const emptyModule = join(work, 'empty.mjs');
    writeFileSync(emptyModule, 'export {};\n');

    for (const [name, zipPath] of Object.entries(packaged.functionZips)) {
      const handler = config.functions[name]?.handler;
      if (handler === undefined) throw new Error(`function ${name} has a zip but no entry in serverless.yml`);
      const entryPoint = join(root, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`);
      const zipBytes = readFileSync(zipPath).length;
      const entries = readZipEntries(zipPath);
      const bundle = entries.find((entry) => entry.name.endsWith('.mjs'));
      if (bundle === undefined) throw new Error(`${zipPath} holds no .mjs bundle`);
      const code = bundle.read();

      const common: BuildOptions = {
        entryPoints: [entryPoint],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: settings.target ?? 'node22',
        ...(settings.mainFields ? { mainFields: settings.mainFields } : {}),
        write: false,
        metafile: true,
        logLevel: 'silent',
      };
      const unminified = await build({ ...common, minify: false });
      const sourceBytes = Object.values(unminified.metafile!.inputs).reduce((sum, input) => sum + input.bytes, 0);
      const unminifiedBytes = unminified.outputFiles![0]!.contents.length;

      const bundlePath = join(work, 'unzipped', name, bundle.name);
      mkdirSync(dirname(bundlePath), { recursive: true });
      writeFileSync(bundlePath, code);
      const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1' };
      const bundleRuns: number[] = [];
      const emptyRuns: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        emptyRuns.push(importMs(emptyModule, env));
        bundleRuns.push(importMs(bundlePath, env));
      }
      const bundleMs = median(bundleRuns);
      const emptyMs = median(emptyRuns);

      console.log(`function ${name}  (${handler} → ${bundle.name})`);
      console.log(`  zip                      ${kb(zipBytes).padStart(12)}   ${((100 * zipBytes) / LAMBDA_ZIP_LIMIT).toFixed(2)}% of Lambda's 50 MiB`);
      console.log(`  bundle (.mjs)            ${kb(code.length).padStart(12)}   ${((100 * code.length) / LAMBDA_UNZIPPED_LIMIT).toFixed(2)}% of Lambda's 250 MiB unzipped`);
      console.log(`  sources bundled          ${kb(sourceBytes).padStart(12)}   ${Object.keys(unminified.metafile!.inputs).length} files`);
      console.log(`  same bundle, unminified  ${kb(unminifiedBytes).padStart(12)}`);
      console.log(`  ratio .mjs / sources     ${(code.length / sourceBytes).toFixed(3)}`);
      console.log(`  ratio .mjs / unminified  ${(code.length / unminifiedBytes).toFixed(3)}`);
      console.log(`  ratio zip / .mjs         ${(zipBytes / code.length).toFixed(3)}`);
      console.log(
        `  import in a fresh node   ${bundleMs.toFixed(0)} ms vs ${emptyMs.toFixed(0)} ms for an empty module ` +
          `(ratio ${(bundleMs / emptyMs).toFixed(2)}, +${(bundleMs - emptyMs).toFixed(0)} ms; median of ${ROUNDS})`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
