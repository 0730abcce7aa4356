import { Command, CommanderError } from 'commander';
import { withoutCommand, type CommandHost, type VerbAction } from './command';
import { checkGlobalOptions, createCliContext, type CliContext, type ContextFactory, type GlobalOptions } from './context';
import { ExitCode, type ExitCodeValue } from './errors';
import { toCliError } from './library-errors';
import { Output, wantsColor, type CliStreams } from './output';
import { settingOrigins } from './settings-origins';
import { registerDeleteCommands } from './delete';
import { registerModelsCommands } from './models';
import { registerRunCommand } from './run';

/** What `runCli` needs from its surroundings; `main.ts` passes the process's, tests their own. */
export interface CliDependencies {
  streams: CliStreams;
  env?: NodeJS.ProcessEnv;
  /** Replaces the real clients (tests point them at local servers). */
  createContext?: ContextFactory;
  /** The user's interrupts (Ctrl-C); `main.ts` passes SIGINT, tests their own trigger. */
  interrupts?: InterruptSource;
}

/** Something that tells listeners the user interrupted. */
export interface InterruptSource {
  /** Calls `listener` on each interrupt until the returned function is called. */
  onInterrupt(listener: () => void): () => void;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the operation failed or was refused (an artifact rejected, an execution failed, a resource in use)
  2    usage error or bad input (the message names the input and the rule)
  3    not found (endpoint, model, version, object, bucket, table, queue or state machine)
  4    timed out waiting (the operation may still complete)
  130  interrupted (Ctrl-C) while waiting (the operation goes on; the message says how to stop it)`;

/**
 * Runs the command line on `args` (without the `node script` prefix) and resolves to the exit code.
 * Never calls `process.exit`, so it can run in-process in tests.
 */
export async function runCli(args: string[], deps: CliDependencies): Promise<ExitCodeValue> {
  const env = deps.env ?? process.env;
  const createContext = deps.createContext ?? createCliContext;
  // Commander's own usage errors come before any verb runs, so `--json` is read from the raw arguments.
  const wantsJson = args.includes('--json');
  let exitCode: ExitCodeValue = ExitCode.Ok;

  const host: CommandHost = {
    run<Args extends unknown[]>(action: VerbAction<Args>) {
      return async (...commanderArgs: unknown[]) => {
        const { args: verbArgs, command } = withoutCommand(commanderArgs);
        const globals = command.optsWithGlobals<GlobalOptions>();
        const output = new Output(deps.streams, Boolean(globals.json), { color: wantsColor(deps.streams, env) });
        try {
          checkGlobalOptions(globals);
          let context: CliContext | undefined;
          const code = await action(
            {
              context: () => (context ??= createContext({ ...globals, json: Boolean(globals.json) }, env)),
              output,
              globals,
              interruptible: async (work) => {
                const controller = new AbortController();
                const unsubscribe = deps.interrupts?.onInterrupt(() => controller.abort()) ?? (() => undefined);
                try {
                  return await work(controller.signal);
                } finally {
                  unsubscribe();
                }
              },
            },
            ...(verbArgs as Args),
          );
          exitCode = code ?? ExitCode.Ok;
        } catch (error) {
          exitCode = output.error(toCliError(error, settingOrigins(globals, env)));
        }
      };
    },
  };

  const program = buildProgram(host, deps.streams);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) {
      return ExitCode.Ok;
    }
    if (wantsJson) {
      deps.streams.stdout.write(
        `${JSON.stringify({ error: { name: 'UsageError', message: error.message.replace(/^error: /, ''), exitCode: ExitCode.Usage } }, null, 2)}\n`,
      );
    }
    return ExitCode.Usage;
  }
  return exitCode;
}

/** The command tree: `smhost [global options] models <verb> ...`, `run ...`, `delete model|endpoint ...`. */
export function buildProgram(host: CommandHost, streams: CliStreams): Command {
  const program = new Command('smhost')
    .description(
      'Automates Amazon SageMaker hosting: add, list, promote, remove and invoke multi-model endpoint models; ' +
        'run the deployment, registration and batch transform state machines; delete models and endpoints.',
    )
    .option('--json', 'print one JSON document on stdout (logs go to stderr)')
    .option('--stage <stage>', 'stage of the deployed stack (default: SMHOST_STAGE or dev)')
    .option('--region <region>', 'AWS region (default: AWS_REGION or us-east-1)')
    .option(
      '--endpoint-url <url>',
      'send every request to this endpoint, such as the local stack (default: AWS_ENDPOINT_URL, or per service ' +
        'AWS_ENDPOINT_URL_<SERVICE> such as AWS_ENDPOINT_URL_S3; unset: AWS itself)',
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .exitOverride();
  registerModelsCommands(program, host);
  registerRunCommand(program, host);
  registerDeleteCommands(program, host);
  return program;
}
