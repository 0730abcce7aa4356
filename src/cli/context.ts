import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createClients, type AwsClients, type ClientOptions } from '../aws/clients';
import { STAGE_PATTERN, STAGE_RULE, stackNames, type StackNames } from '../aws/stack-names';
import { DynamoRegistry, type Registry } from '../multimodel/registry';
import { OperationFailedError } from './errors';
import { parseInput } from './inputs';
import { isUnreachable, unreachableEndpointError } from './library-errors';
import { settingOrigins } from './settings-origins';
import { z } from 'zod';

/** Options every command accepts (`smhost --json --stage prod models list ep1`). */
export interface GlobalOptions {
  json: boolean;
  stage?: string;
  region?: string;
  /** Like the AWS CLI's `--endpoint-url`; otherwise the SDK's `AWS_ENDPOINT_URL*` variables apply. */
  endpointUrl?: string;
}

/** What a verb works with: the clients, the stack's resource names and the registry. */
export interface CliContext {
  clients: AwsClients;
  /** Table and queue names; the bucket is resolved separately because it may need an AWS call. */
  names: Omit<StackNames, 'bucket'>;
  registry: Registry;
  /** The artifacts bucket: `SMHOST_BUCKET`, or the stack's name with the account id from STS. */
  bucket(): Promise<string>;
}

/** Builds the context of one command run; tests substitute their own to point at local servers. */
export type ContextFactory = (options: GlobalOptions, env: NodeJS.ProcessEnv) => CliContext;

const stageSchema = z.string().regex(STAGE_PATTERN, STAGE_RULE);
const regionSchema = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region name such as us-east-1');
const endpointUrlSchema = z
  .string()
  .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL');

/** Checks the global options before anything is built from them. */
export function checkGlobalOptions(options: GlobalOptions): void {
  if (options.stage !== undefined) parseInput(stageSchema, options.stage, '--stage');
  if (options.region !== undefined) parseInput(regionSchema, options.region, '--region');
  if (options.endpointUrl !== undefined) parseInput(endpointUrlSchema, options.endpointUrl, '--endpoint-url');
}

/**
 * The real context: clients from `src/aws/clients.ts` (endpoint from `--endpoint-url` or the standard
 * variables), names from `src/aws/stack-names.ts`, the DynamoDB registry.
 */
export const createCliContext: ContextFactory = (options, env) => {
  const clientOptions: ClientOptions = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
  };
  const clients = createClients(clientOptions);
  const { bucket: _bucket, ...names } = stackNames({ env, ...(options.stage ? { stage: options.stage } : {}) });
  let bucket: Promise<string> | undefined;
  return {
    clients,
    names,
    registry: new DynamoRegistry(clients.dynamo, names.registryTable),
    bucket: () => {
      bucket ??= resolveBucket(clients, options, env);
      return bucket;
    },
  };
};

async function resolveBucket(clients: AwsClients, options: GlobalOptions, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.SMHOST_BUCKET) return env.SMHOST_BUCKET;
  let accountId: string | undefined;
  try {
    accountId = (await clients.sts.send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    if (isUnreachable(error)) throw unreachableEndpointError(error, settingOrigins(options, env));
    throw new OperationFailedError(
      `cannot name the artifacts bucket: STS GetCallerIdentity failed (${(error as Error).message}); ` +
        'set SMHOST_BUCKET or provide AWS credentials',
    );
  }
  if (!accountId) throw new OperationFailedError('cannot name the artifacts bucket: STS returned no account id');
  return stackNames({ env, accountId, ...(options.stage ? { stage: options.stage } : {}) }).bucket;
}
