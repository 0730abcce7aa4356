/** The command line of `npm run local`: options, their rules, and the usage text. */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { STAGE_PATTERN, STAGE_RULE } from '../aws/stack-names';
import type { LocalStackOptions } from './stack';
import { resolveTimeScale, TIME_SCALE_ENV } from './time-scale';

/**
 * The clock speed of `npm run local` when neither `--time-scale` nor `SMHOST_TIME_SCALE` is given: 100 times
 * faster than AWS, as the demo and the tests run. At real time a new endpoint sits in `Creating` for 30 s of
 * simulated provisioning and a deployment waits 30, 45, 68 s between polls, which makes a place to try things
 * slow for no gain; `--time-scale 1` gives AWS's pace back. Waits that protect real work (container health
 * checks, model loads, invocation and Lambda timeouts) are real time at any scale.
 */
export const LOCAL_COMMAND_TIME_SCALE = 0.01;

const DEFAULT_DATA_DIR = '.local';

/** Raised for a bad command line; the message names the option and the rule. */
export class LocalCommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalCommandLineError';
  }
}

/**
 * Parses the command line into stack options. The time scale is `--time-scale`, else `SMHOST_TIME_SCALE` in `env`
 * (left for the stack to read and check), else `LOCAL_COMMAND_TIME_SCALE`.
 */
export function parseLocalArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): LocalStackOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '4566' },
        'data-dir': { type: 'string' },
        ephemeral: { type: 'boolean', default: false },
        'time-scale': { type: 'string' },
        stage: { type: 'string' },
        region: { type: 'string' },
        config: { type: 'string', default: 'serverless.yml' },
        'trigger-schedules': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new LocalCommandLineError(`${(error as Error).message}\nusage: npm run local -- [--port 4566] [--data-dir .local | --ephemeral] [--time-scale 0.01] [--stage dev] [--region us-east-1] [--config serverless.yml] [--trigger-schedules]`);
  }
  const { values } = parsed;
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new LocalCommandLineError(`--port must be an integer from 0 to 65535 (0 picks a free port); got "${values.port}"`);
  let timeScale: number | undefined;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1000) throw new LocalCommandLineError(`--time-scale must be a number greater than 0 and at most 1000 (0.01 = 100x faster); got "${values['time-scale']}"`);
  } else if ((env[TIME_SCALE_ENV] ?? '').trim() === '') {
    timeScale = LOCAL_COMMAND_TIME_SCALE;
  } else {
    // Checked here too, so a bad variable is a usage error (exit 2) like a bad option, before anything starts.
    try {
      resolveTimeScale(undefined, env);
    } catch (error) {
      throw new LocalCommandLineError((error as Error).message);
    }
  }
  if (values.ephemeral && values['data-dir'] !== undefined) {
    throw new LocalCommandLineError(`--ephemeral keeps state in a temporary folder removed at stop; it cannot be used with --data-dir "${values['data-dir']}"`);
  }
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  if (!values.ephemeral) {
    const found = statSync(dataDir, { throwIfNoEntry: false });
    if (found && !found.isDirectory()) throw new LocalCommandLineError(`--data-dir "${dataDir}" is a file; it must be a directory (created when missing)`);
  }
  if (values.stage !== undefined && !STAGE_PATTERN.test(values.stage)) {
    throw new LocalCommandLineError(
      `--stage "${values.stage}" ${STAGE_RULE}`,
    );
  }
  return {
    port,
    dataDir,
    ephemeral: values.ephemeral,
    serverlessYml: values.config,
    triggerSchedules: values['trigger-schedules'],
    ...(timeScale !== undefined ? { timeScale } : {}),
    options: { stage: values.stage, region: values.region },
  };
}
