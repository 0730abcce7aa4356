import { spawn } from 'node:child_process';

/** What a `python3` run printed, and how it ended. */
export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `python3 <args>` (e.g. `['-c', code, ...]` or a script path) with `env`; resolves when it exits. */
export function runPython(args: string[], env: NodeJS.ProcessEnv): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
