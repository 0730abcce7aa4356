/**
 * Bundles a function for its execution environments, as `serverless package` bundles it for Lambda (esbuild,
 * ES module, Node 22, the AWS SDK inside): one file per function loads in a fraction of the time and CPU that
 * compiling and resolving hundreds of TypeScript and SDK modules in every worker takes, which matters when a
 * burst starts several environments on a two-core machine. The runtime that drives the handler is bundled
 * beside it, so a worker needs no TypeScript loader at all. Source maps keep traces pointing at the sources.
 *
 * Bundles are kept in the temp folder by their content (like a compiler cache), never per run: a test or a
 * stack killed before it could clean up leaves nothing new behind, and an unchanged function reuses its folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message } from 'esbuild';
import { FunctionInitError, HandlerNotFoundError } from './function-errors';

const RUNTIME_WORKER = fileURLToPath(new URL('./runtime-worker.ts', import.meta.url));

/** Where bundles are kept, one folder per distinct content. */
export const BUNDLE_CACHE_DIR = join(tmpdir(), 'smhost-lambda-bundles');

/** Bundles not used for this long are removed when a new one is written. */
const STALE_AFTER_MS = 7 * 24 * 3600 * 1000;

/** The files an execution environment runs: the runtime (the worker's entry) and the handler's bundle. */
export interface FunctionBundle {
  runtime: string;
  handler: string;
}

function formatMessages(messages: Message[]): string {
  return messages
    .slice(0, 5)
    .map((message) => (message.location ? `${message.location.file}:${message.location.line}:${message.location.column}: ${message.text}` : message.text))
    .join('; ');
}

async function pruneStale(except: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(BUNDLE_CACHE_DIR).catch(() => [] as string[])) {
    const path = join(BUNDLE_CACHE_DIR, entry);
    if (path === except) continue;
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}

/**
 * Bundles the handler module `file` with the runtime. A handler that does not compile fails as Lambda fails
 * its init: `Runtime.UserCodeSyntaxError`, or `Runtime.ImportModuleError` when an import cannot be found.
 */
export async function bundleFunction(file: string, handler: string): Promise<FunctionBundle> {
  // Built as if into a sibling of the final folder, so the source maps' relative paths hold there too.
  const outdir = join(BUNDLE_CACHE_DIR, 'pending');
  let outputFiles: Array<{ path: string; contents: Uint8Array }>;
  try {
    ({ outputFiles } = await build({
      entryPoints: { runtime: RUNTIME_WORKER, handler: file },
      outdir,
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // Tree-shaking of the AWS SDK works from its ES module builds.
      mainFields: ['module', 'main'],
      outExtension: { '.js': '.mjs' },
      sourcemap: 'linked',
      // CommonJS dependencies inside an ES module bundle still call require().
      banner: { js: "import { createRequire as __smhostCreateRequire } from 'node:module'; const require = __smhostCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    }));
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const detail = errors.length > 0 ? formatMessages(errors) : (error as Error).message;
    if (errors.some((message) => message.text.startsWith('Could not resolve'))) {
      throw new HandlerNotFoundError({ errorType: 'Runtime.ImportModuleError', errorMessage: `Error: handler "${handler}": ${detail}`, trace: [] });
    }
    throw new FunctionInitError({ errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: handler "${handler}": ${detail}`, trace: [] });
  }
  const hash = createHash('sha256');
  for (const output of outputFiles) hash.update(relative(outdir, output.path)).update(output.contents);
  const target = join(BUNDLE_CACHE_DIR, hash.digest('hex').slice(0, 20));
  const bundle = { runtime: join(target, 'runtime.mjs'), handler: join(target, 'handler.mjs') };
  if (await stat(target).catch(() => undefined)) {
    const now = new Date();
    await utimes(target, now, now).catch(() => undefined);
    return bundle;
  }
  // Written aside, then renamed into place: another process bundling the same content never sees half a folder.
  const staging = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    for (const output of outputFiles) {
      const path = join(staging, relative(outdir, output.path));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, output.contents);
    }
    await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await pruneStale(target);
  return bundle;
}
