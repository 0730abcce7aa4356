/**
 * The demo's wall time per step (`npm run bench -- demo`): the whole mission on the local stack, timed
 * step by step, against the target of 90 s for all of it. Each step's share says where the time goes.
 */
import { runDemo } from '../src/demo/main';
import { formatDuration } from '../src/demo/steps';

const TARGET_MS = 90_000;
const started = performance.now();
const run = await runDemo(() => undefined);
const total = performance.now() - started;
const width = Math.max(...run.records.map((r) => r.name.length));
console.log('demo wall time per step (npm run bench -- demo)');
for (const record of run.records) {
  console.log(`  ${record.name.padEnd(width)}  ${formatDuration(record.durationMs).padStart(8)}  ${((100 * record.durationMs) / total).toFixed(1).padStart(5)} %`);
}
console.log(`  ${'total (process included)'.padEnd(width)}  ${formatDuration(total).padStart(8)}`);
console.log(`ratio total / target (${TARGET_MS / 1000} s): ${(total / TARGET_MS).toFixed(3)} (target <= 1)`);
