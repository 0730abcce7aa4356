import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SharedDirNotFoundError } from './errors';

/** The repository root: the folder holding `serverless.yml` and `package.json` (two levels above this file). */
export function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * The shared data directory: `SMHOST_SHARED_DIR` when set, else `../shared` beside the repository root, which
 * is where CI clones it.
 *
 * @throws {SharedDirNotFoundError} when the directory is missing.
 */
export function sharedDir(env: NodeJS.ProcessEnv = process.env, root: string = repositoryRoot()): string {
  const dir = env.SMHOST_SHARED_DIR ? resolve(env.SMHOST_SHARED_DIR) : resolve(root, '..', 'shared');
  if (!existsSync(dir)) throw new SharedDirNotFoundError(dir);
  return dir;
}

/** The folder of CloudFormation resource schemas and the IAM actions list inside the shared directory. */
export function cfnSchemasDir(env: NodeJS.ProcessEnv = process.env, root: string = repositoryRoot()): string {
  const dir = join(sharedDir(env, root), 'cfn-schemas');
  if (!existsSync(dir)) throw new SharedDirNotFoundError(dir);
  return dir;
}
