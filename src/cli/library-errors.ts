import { errorName } from '../aws/errors';
import { stackNames } from '../aws/stack-names';
import { InvalidModelInputError, ModelNotFoundError, NoCurrentVersionError, WarmUpFailedError } from '../multimodel/errors';
import { RegistryConflictError, RegistryNotFoundError } from '../multimodel/registry';
import { CliError, InvalidInputError, NotFoundError, OperationFailedError } from './errors';
import { stageClause, type SettingOrigins } from './settings-origins';

/**
 * Gives the errors of the multi-model library and of AWS their command-line meaning (exit code and message):
 * bad names are usage errors, missing records, buckets and tables are "not found" (naming the setting that
 * named them, when `origins` is given), refusals are failures. Anything else is returned unchanged (and
 * reported as a failure).
 */
export function toCliError(error: unknown, origins?: SettingOrigins): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof InvalidModelInputError) return new InvalidInputError(error.input, error.message);
  if (error instanceof ModelNotFoundError) {
    return new NotFoundError(error.message, { endpoint: error.endpoint, model: error.model });
  }
  if (error instanceof RegistryNotFoundError) return new NotFoundError(error.message);
  if (error instanceof NoCurrentVersionError) {
    return new OperationFailedError(error.message, { endpoint: error.endpoint, model: error.model });
  }
  if (error instanceof WarmUpFailedError) {
    return new OperationFailedError(error.message, { targetModel: error.targetModel });
  }
  if (error instanceof RegistryConflictError) return new OperationFailedError(error.message);
  if (isUnreachable(error)) return unreachableEndpointError(error, origins);
  const name = errorName(error);
  if (name === 'NoSuchBucket') return missingBucketError(error, origins);
  // DynamoDB's wording; the command line's only table is the registry.
  if (name === 'ResourceNotFoundException' && /^Requested resource not found/.test((error as Error).message)) {
    return missingTableError(origins);
  }
  return error;
}

const UNREACHABLE_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

/** True for an error that means no service answered at all (nothing listening, no such host). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if (code !== undefined && UNREACHABLE_CODES.includes(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return new RegExp(`\\b(${UNREACHABLE_CODES.join('|')})\\b`).test(message);
}

/**
 * The one wording for "nothing answers at the endpoint", whichever call found it out: the remedy is the
 * endpoint setting (or the local stack), never credentials.
 */
export function unreachableEndpointError(error: unknown, origins?: SettingOrigins): OperationFailedError {
  const reason = error instanceof Error ? error.message : String(error);
  const remedy = origins?.endpointFrom
    ? `the endpoint comes from ${origins.endpointFrom}: check it, or start the local stack ("npm run local")`
    : 'check AWS_ENDPOINT_URL / --endpoint-url, or start the local stack ("npm run local")';
  return new OperationFailedError(`cannot reach the AWS endpoint (${reason}); ${remedy}`, {
    ...(origins?.endpointFrom ? { endpointFrom: origins.endpointFrom } : {}),
  });
}

function missingBucketError(error: unknown, origins: SettingOrigins | undefined): NotFoundError {
  const bucket = (error as { BucketName?: string }).BucketName;
  if (bucket === undefined) return new NotFoundError(`a bucket does not exist (${(error as Error).message})`);
  const details = { bucket };
  if (origins?.bucketVariable === bucket) {
    return new NotFoundError(`bucket "${bucket}" does not exist (named by SMHOST_BUCKET)`, { ...details, namedBy: 'SMHOST_BUCKET' });
  }
  if (origins && bucket.startsWith(`${origins.service}-${origins.stage}-artifacts-`)) {
    return new NotFoundError(
      `bucket "${bucket}" does not exist: it is the artifacts bucket of ${stageClause(origins)}; ` +
        'is the stack deployed for that stage? (SMHOST_BUCKET names another bucket)',
      { ...details, namedBy: 'stage', stage: origins.stage },
    );
  }
  return new NotFoundError(`bucket "${bucket}" does not exist`, details);
}

function missingTableError(origins: SettingOrigins | undefined): NotFoundError {
  if (!origins) return new NotFoundError('the registry table does not exist');
  if (origins.tableVariable !== undefined) {
    return new NotFoundError(`registry table "${origins.tableVariable}" does not exist (named by SMHOST_REGISTRY_TABLE)`, {
      table: origins.tableVariable,
      namedBy: 'SMHOST_REGISTRY_TABLE',
    });
  }
  const table = stackNames({ env: {}, service: origins.service, stage: origins.stage }).registryTable;
  return new NotFoundError(
    `registry table "${table}" does not exist: it is the registry of ${stageClause(origins)}; ` +
      'is the stack deployed for that stage? (SMHOST_REGISTRY_TABLE names another table)',
    { table, namedBy: 'stage', stage: origins.stage },
  );
}
