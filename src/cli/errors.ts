/**
 * Exit codes of `smhost`, part of its contract with scripts: each failure class maps to exactly one code.
 */
export const ExitCode = {
  /** The operation succeeded. */
  Ok: 0,
  /** The operation ran and failed, or the service refused it (e.g. an artifact rejected by registration). */
  Failed: 1,
  /** The command line or an input was wrong; nothing was changed. */
  Usage: 2,
  /** Something named on the command line does not exist (endpoint, model, version, object, queue). */
  NotFound: 3,
  /** A wait ran out of time; the operation may still complete later. */
  TimedOut: 4,
  /** The user interrupted (Ctrl-C) a wait; the operation goes on. 128 + SIGINT, as shells report it. */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class of errors the command line reports with a specific exit code and no stack trace. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Extra fields included in the `--json` error document. */
  readonly details?: Record<string, unknown>;

  constructor(message: string, exitCode: ExitCodeValue, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    if (details) this.details = details;
  }
}

/** A bad argument or option: the message names the input and the rule it broke. */
export class InvalidInputError extends CliError {
  readonly input: string;

  constructor(input: string, rule: string) {
    super(`invalid ${input}: ${rule}`, ExitCode.Usage, { input });
    this.input = input;
  }
}

/** Something the user named does not exist. */
export class NotFoundError extends CliError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, ExitCode.NotFound, details);
  }
}

/** The operation ran and did not succeed (refused, rejected, or failed on the service side). */
export class OperationFailedError extends CliError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, ExitCode.Failed, details);
  }
}

/** A wait gave up; the outcome is unknown, not negative. */
export class WaitTimeoutError extends CliError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, ExitCode.TimedOut, details);
  }
}

/** The user interrupted a wait (Ctrl-C); like a timeout, the outcome is unknown and the operation goes on. */
export class InterruptedError extends CliError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, ExitCode.Interrupted, details);
  }
}
