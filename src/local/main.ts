/**
 * `npm run local -- [--port 4566] [--data-dir .local] [--ephemeral] [--time-scale 0.01] [--stage dev]`:
 * starts the local stack on 127.0.0.1, prints `ready: http://127.0.0.1:<port>` once every service answers,
 * with the environment to export, and stops cleanly on Ctrl-C or SIGTERM.
 */
import { parseLocalArgs } from './command-line';
import { probeServices } from './readiness';
import { startLocalStack, type LocalStackOptions } from './stack';

async function main(): Promise<void> {
  let options: LocalStackOptions;
  try {
    options = parseLocalArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const stack = await startLocalStack({ ...options, log: (line) => console.log(`[local] ${line}`) });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[local] ${signal}: stopping`);
    await stack.close();
    console.log('[local] stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const served = stack.services();
  const services = await probeServices(stack.url, stack.region, { sagemaker: served.includes('sagemaker'), states: served.includes('states') });
  console.log(`[local] services: ${services.join(', ')}; data: ${options.ephemeral ? 'ephemeral' : stack.dataDir}`);
  console.log(`[local] bucket ${stack.names.bucket}, table ${stack.names.registryTable}, queue ${stack.names.queue} (DLQ ${stack.names.deadLetterQueue})`);
  const machines = stack.stepFunctions.stateMachines.map((machine) => machine.name);
  if (machines.length > 0) console.log(`[local] state machines: ${machines.join(', ')}`);
  console.log('export AWS_ENDPOINT_URL=' + stack.url);
  console.log(`export AWS_REGION=${stack.region} AWS_DEFAULT_REGION=${stack.region}`);
  console.log('export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local');
  console.log(`ready: ${stack.url}`);
}

main().catch((error: Error) => {
  console.error(`[local] failed to start: ${error.message}`);
  process.exit(1);
});
