/**
 * A folder that behaves as the repository's root for the commands a user runs there (`npm run cli`, `npx tsx`)
 * but is not the repository: the project's files are symlinked into a temporary folder, so the files a walkthrough
 * writes (archives, request bodies, answers) land in the temporary folder and never among other people's files.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './local-command';

/** What `npm run <script>` and the project's code read relative to the root. */
const LINKED = ['package.json', 'package-lock.json', 'node_modules', 'tsconfig.json', 'serverless.yml', 'bin', 'src', 'functions', 'statemachines'];

export interface RepoWorkDir {
  path: string;
  remove(): Promise<void>;
}

export async function createRepoWorkDir(): Promise<RepoWorkDir> {
  const path = await mkdtemp(join(tmpdir(), 'walkthrough-'));
  try {
    for (const name of LINKED) await symlink(join(REPO_ROOT, name), join(path, name));
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    throw error;
  }
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
