/**
 * Entry point of `smhost` (the package's bin, and `npm run cli -- <args>`): runs the command line on
 * the process's arguments and exits with its exit code.
 */
import { runCli } from './program';

const code = await runCli(process.argv.slice(2), { streams: { stdout: process.stdout, stderr: process.stderr } });
// Let stdout drain (a piped large response) before the process ends: set the code instead of exiting.
process.exitCode = code;
