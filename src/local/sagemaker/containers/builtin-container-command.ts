/**
 * How the built-in ONNX container is started. Its source is TypeScript (`../onnx-container/server.ts`);
 * running it through tsx costs every container start the loader and a transform of each file, so it is
 * bundled once with esbuild into one ES module and run by plain `node`. The bundle is cached on disk and
 * keyed by the content of every file that went into it (recorded from the build's own list of inputs),
 * the esbuild version and the location of onnxruntime-node, so an edit to the container's source or an
 * upgrade rebuilds it on the next container start, and nothing stale is ever run.
 *
 * The cache folder is `SMHOST_CACHE_DIR`, else `node_modules/.cache/smhost` of this package: a folder of
 * the user's own, never a shared temporary folder where another user could plant a file that would be run.
 * When the bundle cannot be had (esbuild not installed, a read-only cache folder), the container runs
 * through tsx as before, and its log says why.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE_ROOT = resolve(here, '../../../..');
/** The built-in container's entry point. */
export const BUILTIN_SERVER_SOURCE = resolve(here, '../onnx-container/server.ts');
/** Names the folder the bundle is cached in (see the module comment for the default). */
export const CONTAINER_CACHE_ENV = 'SMHOST_CACHE_DIR';
/** Changed whenever the build options below change, so a bundle built the old way is not reused. */
const RECIPE = 'onnx-container-esm-node22-v1';
const BUNDLE_FOLDER = 'onnx-container';
const MANIFEST = 'manifest.json';

/** The argv that starts the built-in container, and how it runs, for the container's log. */
export interface BuiltinContainerCommand {
  argv: string[];
  note: string;
}

/** The bundle could not be built or cached; the container then runs through tsx. */
export class ContainerBundleError extends Error {
  override readonly name = 'ContainerBundleError';
}

interface Manifest {
  recipe: string;
  hash: string;
  /** Paths, relative to the package root, of every file the bundle was built from. */
  inputs: string[];
}

/** The cache folder: `SMHOST_CACHE_DIR`, else `node_modules/.cache/smhost` of this package. */
export function defaultContainerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[CONTAINER_CACHE_ENV];
  return named !== undefined && named !== '' ? resolve(named) : join(PACKAGE_ROOT, 'node_modules', '.cache', 'smhost');
}

function tsxArgv(): string[] {
  // tsx is loaded by absolute URL so the child does not depend on its cwd.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [process.execPath, '--import', tsx, BUILTIN_SERVER_SOURCE];
}

/**
 * The command for the built-in container: `node <cached bundle>` when the bundle is current or can be
 * built, else the TypeScript source through tsx. Never throws; the `note` says which one and why.
 */
export async function builtinContainerCommand(cacheDir: string = defaultContainerCacheDir()): Promise<BuiltinContainerCommand> {
  try {
    const bundle = await builtinContainerBundle(cacheDir);
    return { argv: [process.execPath, bundle.file], note: bundle.built ? `bundle built: ${bundle.file}` : `bundle ${bundle.file}` };
  } catch (error) {
    return { argv: tsxArgv(), note: `TypeScript source through tsx (${(error as Error).message})` };
  }
}

const building = new Map<string, Promise<{ file: string; built: boolean }>>();

/**
 * The path of a bundle of the built-in container that matches its current sources, building it into
 * `<cacheDir>/onnx-container/` when there is none. Concurrent calls in one process share one build;
 * concurrent processes each write whole files and rename them into place, so none reads half a bundle.
 *
 * @throws {ContainerBundleError} when esbuild is missing, the build fails or the folder is not writable.
 */
export async function builtinContainerBundle(cacheDir: string): Promise<{ file: string; built: boolean }> {
  const folder = join(resolve(cacheDir), BUNDLE_FOLDER);
  const esbuild = await loadEsbuild();
  const current = await currentBundle(folder, esbuild.version);
  if (current) return { file: current, built: false };
  let pending = building.get(folder);
  if (!pending) {
    pending = buildBundle(folder, esbuild).finally(() => building.delete(folder));
    building.set(folder, pending);
  }
  return pending;
}

type Esbuild = typeof import('esbuild');

async function loadEsbuild(): Promise<Esbuild> {
  try {
    return await import('esbuild');
  } catch (error) {
    throw new ContainerBundleError(`esbuild is not installed: ${(error as Error).message.split('\n')[0]}`);
  }
}

function bundleName(hash: string): string {
  return `server-${hash.slice(0, 24)}.mjs`;
}

async function hashInputs(inputs: string[], esbuildVersion: string): Promise<string | undefined> {
  const hash = createHash('sha256').update(`${RECIPE}\0${esbuildVersion}\0${onnxRuntimeUrl()}\0`);
  for (const input of [...inputs].sort()) {
    let content: Buffer;
    try {
      content = await readFile(join(PACKAGE_ROOT, input));
    } catch {
      return undefined;
    }
    hash.update(`${input}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** The cached bundle, when its manifest's inputs still hash to what they hashed to at build time. */
async function currentBundle(folder: string, esbuildVersion: string): Promise<string | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(folder, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.recipe !== RECIPE || !Array.isArray(manifest.inputs) || manifest.inputs.length === 0) return undefined;
  const hash = await hashInputs(manifest.inputs, esbuildVersion);
  if (hash === undefined || hash !== manifest.hash) return undefined;
  const file = join(folder, bundleName(hash));
  try {
    await access(file, constants.R_OK);
  } catch {
    return undefined;
  }
  return file;
}

let ortUrl: string | undefined;

/** onnxruntime-node is native: the bundle imports it from where this package has it, by absolute URL. */
function onnxRuntimeUrl(): string {
  ortUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
  return ortUrl;
}

function runEsbuild(esbuild: Esbuild) {
  return esbuild.build({
    entryPoints: [BUILTIN_SERVER_SOURCE],
    absWorkingDir: PACKAGE_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'packages-by-absolute-url',
        setup(build) {
          // Packages stay outside the bundle, imported by absolute URL: the bundle lives outside the
          // package's folders, where a bare `import 'onnxruntime-node'` would not be found.
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return { path: args.path, external: true };
            const url = args.path === 'onnxruntime-node' ? onnxRuntimeUrl() : pathToFileURL(createRequire(args.importer).resolve(args.path)).href;
            return { path: url, external: true };
          });
        },
      },
    ],
  });
}

async function buildBundle(folder: string, esbuild: Esbuild): Promise<{ file: string; built: boolean }> {
  let result: Awaited<ReturnType<typeof runEsbuild>>;
  try {
    result = await runEsbuild(esbuild);
  } catch (error) {
    throw new ContainerBundleError(`esbuild could not bundle ${BUILTIN_SERVER_SOURCE}: ${(error as Error).message.split('\n')[0]}`);
  }
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('file:'));
  const hash = await hashInputs(inputs, esbuild.version);
  const code = result.outputFiles?.[0]?.contents;
  if (hash === undefined || !code) throw new ContainerBundleError(`esbuild gave no bundle of ${BUILTIN_SERVER_SOURCE}`);
  const name = bundleName(hash);
  const file = join(folder, name);
  const manifest: Manifest = { recipe: RECIPE, hash, inputs };
  try {
    await mkdir(folder, { recursive: true });
    await writeAtomically(file, code);
    await writeAtomically(join(folder, MANIFEST), JSON.stringify(manifest, null, 1));
  } catch (error) {
    throw new ContainerBundleError(`cannot write the bundle into ${folder}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  // Bundles of older sources are dead weight; a process still running one has it loaded already.
  const stale = (await readdir(folder).catch(() => [] as string[])).filter((f) => f.startsWith('server-') && f.endsWith('.mjs') && f !== name);
  await Promise.all(stale.map((f) => rm(join(folder, f), { force: true }).catch(() => undefined)));
  return { file, built: true };
}

async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}
