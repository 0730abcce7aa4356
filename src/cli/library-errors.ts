import { InvalidModelInputError, ModelNotFoundError, NoCurrentVersionError, WarmUpFailedError } from '../multimodel/errors';
import { RegistryConflictError, RegistryNotFoundError } from '../multimodel/registry';
import { CliError, InvalidInputError, NotFoundError, OperationFailedError } from './errors';

/**
 * Gives the errors of the multi-model library their command-line meaning (exit code and message):
 * bad names are usage errors, missing records are "not found", refusals are failures. Anything else
 * is returned unchanged (and reported as a failure).
 */
export function toCliError(error: unknown): unknown {
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
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new OperationFailedError(
      `cannot reach the AWS endpoint (${(error as Error).message}); check AWS_ENDPOINT_URL / --endpoint-url, ` +
        'or start the local stack ("npm run local")',
    );
  }
  return error;
}
