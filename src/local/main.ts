/**
 * `npm run local -- [--port 4566] [--data-dir .local | --ephemeral] [--time-scale 0.01] [--stage dev]
 * [--trigger-schedules]`: starts the local stack on 127.0.0.1, prints the banner (`startupBanner`) ending in
 * `ready: http://127.0.0.1:<port>` once every service answers, and stops cleanly on Ctrl-C, SIGTERM or SIGHUP.
 */
import { startupBanner } from './banner';
import { parseLocalArgs } from './command-line';
import { probeServices } from './readiness';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './stack';

async function main(): Promise<void> {
  let options: LocalStackOptions;
  try {
    options = parseLocalArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  let starting: Promise<LocalStack> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C while containers exit would otherwise look ignored.
      console.log(`[local] ${signal}: still stopping`);
      return;
    }
    stopping = true;
    console.log(`[local] ${signal}: stopping`);
    // A stack still starting is waited for, then closed, so nothing it started (ephemeral dir, containers) is left.
    await starting?.then((stack) => stack.close(), () => undefined);
    console.log('[local] stopped');
    process.exit(0);
  };
  // Installed before the stack starts, so a Ctrl-C during start-up still stops what has started.
  // SIGHUP too: closing the terminal would otherwise end the stack without writing its state or stopping containers.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
  // npm passes SIGINT and SIGTERM on to the stack it started, but dies on SIGHUP (and SIGKILL) alone, which
  // would leave the stack serving with no parent. Started by npm, the stack stops when npm is gone; started
  // any other way (nohup, a service manager), it outlives its parent as asked.
  if (process.env.npm_lifecycle_event !== undefined) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop('npm exited');
    }, 250).unref();
  }
  starting = startLocalStack({ ...options, log: (line) => console.log(`[local] ${line}`) });
  const stack = await starting;
  if (stopping) return;
  const served = stack.services();
  let services: string[];
  try {
    services = await probeServices(stack.url, stack.region, { sagemaker: served.includes('sagemaker'), states: served.includes('states') });
  } catch (error) {
    if (stopping) return;
    await stack.close();
    throw error;
  }
  const stateMachines = stack.stepFunctions.stateMachines.map((machine) => machine.name);
  for (const line of startupBanner({ ...stack, services, stateMachines })) console.log(line);
}

main().catch((error: Error) => {
  console.error(`[local] failed to start: ${error.message}`);
  process.exit(1);
});
