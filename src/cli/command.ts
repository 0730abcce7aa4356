import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from './context';
import type { ExitCodeValue } from './errors';
import type { Output } from './output';

/** What a verb's action receives besides its arguments. */
export interface VerbEnvironment {
  /**
   * The clients, names and registry. A function, so a verb validates its arguments before anything
   * is built and a usage error never waits on the network.
   */
  context: () => CliContext;
  output: Output;
  globals: GlobalOptions;
  /**
   * Runs `work` with a signal that aborts when the user interrupts (Ctrl-C), so a long wait can stop, say
   * what goes on without it, and exit 130. Outside such a call an interrupt ends the process as usual.
   */
  interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** A verb's action: returns its exit code, or nothing for success; throws a `CliError` for a failure. */
export type VerbAction<Args extends unknown[]> = (
  env: VerbEnvironment,
  ...args: Args
) => Promise<ExitCodeValue | void>;

/**
 * Wraps verb actions for commander: supplies the environment, turns thrown errors into exit codes and
 * reports them through the one `Output`.
 */
export interface CommandHost {
  run<Args extends unknown[]>(action: VerbAction<Args>): (...commanderArgs: unknown[]) => Promise<void>;
}

/** Commander passes the command itself last; the verb does not need it. */
export function withoutCommand(args: unknown[]): { args: unknown[]; command: Command } {
  return { args: args.slice(0, -1), command: args[args.length - 1] as Command };
}
