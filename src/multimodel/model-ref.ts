/** Checks of the endpoint / model / version names a caller (the command line) passes to the use cases. */
import { InvalidModelInputError } from './errors';
import { endpointNameProblem, modelNameProblem, VERSION_LENGTH } from './layout';

export interface ModelRef {
  endpoint: string;
  model: string;
}

const VERSION_PATTERN = new RegExp(`^[0-9a-f]{${VERSION_LENGTH}}$`);

/**
 * Throws when the endpoint or model name could never have been registered.
 *
 * @throws InvalidModelInputError naming the input and the rule.
 */
export function assertModelRef(ref: ModelRef): void {
  const endpointProblem = endpointNameProblem(ref.endpoint);
  if (endpointProblem) throw new InvalidModelInputError('endpoint', endpointProblem);
  const modelProblem = modelNameProblem(ref.model);
  if (modelProblem) throw new InvalidModelInputError('model', modelProblem);
}

/**
 * Throws when `version` is not a version name (16 lowercase hex digits).
 *
 * @throws InvalidModelInputError naming the input and the rule.
 */
export function assertVersion(version: string): void {
  if (!VERSION_PATTERN.test(version)) {
    throw new InvalidModelInputError('version', `version "${version}" is not ${VERSION_LENGTH} lowercase hex digits`);
  }
}
