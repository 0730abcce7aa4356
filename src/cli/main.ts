/**
 * Entry point of `smhost` (the package's bin, and `npm run cli -- <args>`): runs the command line on
 * the process's arguments and exits with its exit code.
 */
import { fstatSync } from 'node:fs';
import { runCli } from './program';

const code = await runCli(process.argv.slice(2), {
  streams: {
    stdout: { write: (chunk) => process.stdout.write(chunk), isTTY: Boolean(process.stdout.isTTY), isFile: stdoutIsFile() },
    stderr: process.stderr,
  },
  interrupts: {
    onInterrupt(listener) {
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
  },
});
// Let stdout drain (a piped large response) before the process ends: set the code instead of exiting.
process.exitCode = code;

/** A redirect to a file (`> out.bin`) takes response bodies byte for byte; a terminal or a pipe does not. */
function stdoutIsFile(): boolean {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
}
