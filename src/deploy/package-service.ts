/**
 * Runs `serverless package` (osls) offline into a chosen directory and reads back what it wrote: the
 * CloudFormation template and one zip per function. AWS credentials are blanked and the shared config files
 * pointed at nothing, so the package provably needs no account.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PackageFailedError } from './errors';
import { repositoryRoot } from './shared-dir';
import { asTemplate, type CfnTemplate } from '../cloudformation/template';

export interface PackageServiceOptions {
  /** Where the zips and templates go (`--package`); created by osls. */
  outDir: string;
  /** The folder holding `serverless.yml`; the repository root unless given. */
  serviceDir?: string;
  stage?: string;
  region?: string;
  /** Kills the packaging after this long (default 5 minutes). */
  timeoutMs?: number;
}

/** What `serverless package` produced. */
export interface PackagedService {
  outDir: string;
  templatePath: string;
  template: CfnTemplate;
  /** Zip of each function, by the logical function name (`registerArtifacts`). */
  functionZips: Record<string, string>;
  /** osls's own log of the run, for diagnostics. */
  output: string;
}

/** The environment packaging runs in: no credentials, no profile, no instance metadata, no telemetry. */
export function offlinePackagingEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_')) delete env[name];
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    FORCE_COLOR: '0',
  };
}

const TAIL_CHARS = 4000;

/**
 * Packages the service offline.
 *
 * @throws {PackageFailedError} when osls exits non-zero, times out, or writes no template; the message ends
 *   with the tail of its output.
 */
export async function packageService(options: PackageServiceOptions): Promise<PackagedService> {
  const serviceDir = resolve(options.serviceDir ?? repositoryRoot());
  const outDir = resolve(options.outDir);
  const bin = join(repositoryRoot(), 'node_modules', 'serverless', 'bin', 'serverless.js');
  if (!existsSync(bin)) throw new PackageFailedError(`osls is not installed (no ${bin}); run npm ci`, null, '');
  const args = [
    bin,
    'package',
    '--stage',
    options.stage ?? 'dev',
    '--region',
    options.region ?? 'us-east-1',
    '--package',
    outDir,
  ];

  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolvePromise, reject) => {
    const env = {
      ...offlinePackagingEnv(),
      // serverless.yml reads this: a work folder of this run's own, which the plugin deletes when done.
      SMHOST_ESBUILD_WORK_FOLDER: join('.esbuild', `package-${process.pid}-${randomBytes(4).toString('hex')}`),
    };
    const child = spawn(process.execPath, args, { cwd: serviceDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      text += `\n(killed after ${options.timeoutMs ?? 300_000} ms)`;
    }, options.timeoutMs ?? 300_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolvePromise({ code: exitCode, output: text });
    });
  });

  const templatePath = join(outDir, 'cloudformation-template-update-stack.json');
  if (code !== 0 || !existsSync(templatePath)) {
    throw new PackageFailedError(
      `serverless package failed (exit ${code}) in ${serviceDir}:\n${output.slice(-TAIL_CHARS)}`,
      code,
      output,
    );
  }
  const template = asTemplate(JSON.parse(readFileSync(templatePath, 'utf8')));
  const functionZips: Record<string, string> = {};
  for (const file of readdirSync(outDir)) {
    if (file.endsWith('.zip')) functionZips[file.slice(0, -'.zip'.length)] = join(outDir, file);
  }
  return { outDir, templatePath, template, functionZips, output };
}
