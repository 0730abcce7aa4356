#!/usr/bin/env node
// The `smhost` command. The command line is TypeScript run through tsx, located from this file so the
// command works from any directory. The project needs Node 22: on an older Node (a system Node outside
// npm scripts), the command re-runs itself with the Node 22 the package installs (`node@22`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REQUIRED_MAJOR = 22;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src', 'cli', 'main.ts');
const tsconfig = join(root, 'tsconfig.json');

const major = Number(process.versions.node.split('.')[0]);
if (major >= REQUIRED_MAJOR) {
  const require = createRequire(import.meta.url);
  const { register } = await import(pathToFileURL(require.resolve('tsx/esm/api')).href);
  register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });
  await import(pathToFileURL(entry).href);
} else {
  const node = projectNode();
  if (!node) {
    process.stderr.write(
      `smhost: needs Node ${REQUIRED_MAJOR} or later (this is ${process.version}); run "npm ci" in ${root} ` +
        'to install the pinned Node, or put Node 22 on PATH\n',
    );
    process.exit(2);
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/** The Node binary of the `node` package in the project's node_modules, if installed. */
function projectNode() {
  const candidates = [join(root, 'node_modules', 'node', 'bin', 'node'), join(root, 'node_modules', '.bin', 'node')];
  return candidates.find((path) => existsSync(path));
}
