/**
 * The names `serverless.yml` gives the stack's resources, derived the same way here so that the command
 * line and the local stack find them without a second list to keep in step. Each can be overridden by
 * the environment (`SMHOST_BUCKET`, `SMHOST_REGISTRY_TABLE`, `SMHOST_QUEUE`, `SMHOST_DLQ`).
 */
export interface StackNames {
  service: string;
  stage: string;
  bucket: string;
  registryTable: string;
  queue: string;
  deadLetterQueue: string;
}

export const DEFAULT_SERVICE = 'smhost';
export const DEFAULT_STAGE = 'dev';
/** The account id the local stack answers with, as every AWS emulator does. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * A stage is part of every resource name, the bucket's included (`<service>-<stage>-artifacts-<account>`, at
 * most 63 lowercase characters): lowercase letters and digits, words joined by single hyphens, 1 to 32 characters.
 */
export const STAGE_PATTERN = /^(?=.{1,32}$)[a-z0-9]+(-[a-z0-9]+)*$/;
export const STAGE_RULE =
  'must be lowercase letters and digits, words joined by single hyphens, at most 32 characters (it is part of the bucket name, and S3 bucket names are lowercase)';

export interface StackNameInput {
  service?: string;
  stage?: string;
  accountId?: string;
  env?: NodeJS.ProcessEnv;
}

export function stackNames(input: StackNameInput = {}): StackNames {
  const env = input.env ?? process.env;
  const service = input.service ?? env.SMHOST_SERVICE ?? DEFAULT_SERVICE;
  const stage = input.stage ?? env.SMHOST_STAGE ?? DEFAULT_STAGE;
  const accountId = input.accountId ?? LOCAL_ACCOUNT_ID;
  const prefix = `${service}-${stage}`;
  return {
    service,
    stage,
    bucket: env.SMHOST_BUCKET ?? `${prefix}-artifacts-${accountId}`,
    registryTable: env.SMHOST_REGISTRY_TABLE ?? `${prefix}-registry`,
    queue: env.SMHOST_QUEUE ?? `${prefix}-artifact-events`,
    deadLetterQueue: env.SMHOST_DLQ ?? `${prefix}-artifact-events-dlq`,
  };
}
