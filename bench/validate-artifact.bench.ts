/**
 * Validation of one large artifact against plain decompression, in the same run, on the same file:
 *
 *   npm run bench -- validate-artifact        (or: npx tsx bench/run.ts validate-artifact)
 *
 * Builds once (cached in bench/.work/, git-ignored) a `.tar.gz` holding 1 GiB of random bytes, then alternates
 * `gzip -dc file > /dev/null` with `inspectArchive(createReadStream(file))` (SHA-256, gunzip, tar parsing and
 * every check), each inspection in a fresh process so its peak RSS is its own. Prints the median throughputs,
 * their ratio (target ≥ 0.85) and the inspection's peak RSS (target ≤ 150 MB).
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { inspectArchive } from '../src/artifacts';

const here = dirname(fileURLToPath(import.meta.url));
const thisFile = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const RANDOM_BYTES = 1024 * MiB;
const ROUNDS = 3;
const TARGET_RATIO = 0.85;
const TARGET_RSS_MB = 150;

async function buildArchive(path: string): Promise<void> {
  const partial = `${path}.partial`;
  const packer = pack();
  const written = pipeline(packer, createGzip({ level: 1 }), createWriteStream(partial));
  packer.entry({ name: 'model/config.json' }, JSON.stringify({ architecture: 'random', bytes: RANDOM_BYTES }));
  const sink = packer.entry({ name: 'model/weights.bin', size: RANDOM_BYTES });
  for (let sent = 0; sent < RANDOM_BYTES; sent += MiB) {
    if (!sink.write(randomFillSync(Buffer.allocUnsafe(MiB)))) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  sink.end(Buffer.alloc(0));
  packer.finalize();
  await written;
  renameSync(partial, path);
}

interface InspectionRun {
  seconds: number;
  maxRssBytes: number;
  sha256: string;
}

/** Child mode: one inspection in a fresh process, reporting its time and peak RSS. */
async function inspectChild(file: string): Promise<void> {
  const started = process.hrtime.bigint();
  const inspection = await inspectArchive(createReadStream(file));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const run: InspectionRun = { seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, sha256: inspection.sha256 };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

/** Peak RSS of a process that only loads the same code, to show what the inspection itself adds. */
function baselineRssBytes(): number {
  const run = spawnSync(process.execPath, ['--import', 'tsx', thisFile, '--baseline-child'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`baseline child failed (${run.status}): ${run.stderr}`);
  return Number(run.stdout.trim().split('\n').at(-1));
}

function gunzipSeconds(file: string): number {
  const started = process.hrtime.bigint();
  const run = spawnSync('sh', ['-c', 'gzip -dc "$1" > /dev/null', 'sh', file], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`gzip -dc failed with status ${run.status}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function inspectionRun(file: string): InspectionRun {
  const run = spawnSync(process.execPath, ['--import', 'tsx', thisFile, '--inspect-child', file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`inspection child failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as InspectionRun;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function main(): Promise<void> {
  const workDir = join(here, '.work');
  const file = join(workDir, 'random-1GiB.tar.gz');
  mkdirSync(workDir, { recursive: true });
  if (!existsSync(file)) {
    console.log(`building ${file} (once; cached) ...`);
    await buildArchive(file);
  }
  const size = statSync(file).size;
  const uncompressed = RANDOM_BYTES; // what both sides inflate, within a few KiB of tar headers
  console.log(`archive: ${file}, ${(size / 1e6).toFixed(0)} MB compressed, ${(uncompressed / 1e6).toFixed(0)} MB of random content`);

  const gunzip: number[] = [];
  const inspect: InspectionRun[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    gunzip.push(gunzipSeconds(file));
    inspect.push(inspectionRun(file));
    console.log(
      `round ${round}: gzip -dc ${gunzip.at(-1)?.toFixed(2)} s, inspectArchive ${inspect.at(-1)?.seconds.toFixed(2)} s ` +
        `(peak RSS ${((inspect.at(-1)?.maxRssBytes ?? 0) / 1e6).toFixed(0)} MB)`,
    );
  }

  const gunzipMBps = size / 1e6 / median(gunzip);
  const inspectMBps = size / 1e6 / median(inspect.map((run) => run.seconds));
  const ratio = inspectMBps / gunzipMBps;
  const peakRssMB = Math.max(...inspect.map((run) => run.maxRssBytes)) / 1e6;
  const baselineMB = baselineRssBytes() / 1e6;
  console.log(`gzip -dc > /dev/null   median ${gunzipMBps.toFixed(0)} MB/s (compressed bytes per second)`);
  console.log(`inspectArchive         median ${inspectMBps.toFixed(0)} MB/s, sha256 ${inspect[0]?.sha256}`);
  console.log(`throughput ratio       ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? 'ok' : 'BELOW TARGET'}`);
  console.log(
    `peak RSS of inspection ${peakRssMB.toFixed(0)} MB (target <= ${TARGET_RSS_MB} MB) ${peakRssMB <= TARGET_RSS_MB ? 'ok' : 'ABOVE TARGET'}; ` +
      `a process that only loads the code peaks at ${baselineMB.toFixed(0)} MB`,
  );
}

if (process.argv[2] === '--inspect-child') {
  await inspectChild(process.argv[3] as string);
} else if (process.argv[2] === '--baseline-child') {
  process.stdout.write(`${process.resourceUsage().maxRSS * 1024}\n`);
} else {
  await main();
}
