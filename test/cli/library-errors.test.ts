import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, OperationFailedError } from '../../src/cli/errors';
import { toCliError } from '../../src/cli/library-errors';
import { InvalidModelInputError, ModelNotFoundError, NoCurrentVersionError, WarmUpFailedError } from '../../src/multimodel/errors';
import { RegistryConflictError, RegistryNotFoundError } from '../../src/multimodel/registry';

describe('Function: toCliError', () => {
  it('gives each library error its exit code', () => {
    // Prepare
    const cases: [unknown, new (...args: never[]) => Error, number][] = [
      [new InvalidModelInputError('version', 'version "x" is not 16 lowercase hex digits'), InvalidInputError, 2],
      [new ModelNotFoundError('ep1', 'm1'), NotFoundError, 3],
      [new RegistryNotFoundError('version "v" does not exist'), NotFoundError, 3],
      [new NoCurrentVersionError('ep1', 'm1', 'every version failed'), OperationFailedError, 1],
      [new WarmUpFailedError('m1/v.tar.gz', 'ModelError'), OperationFailedError, 1],
      [new RegistryConflictError('version is removed'), OperationFailedError, 1],
    ];

    for (const [error, type, exitCode] of cases) {
      // Act
      const translated = toCliError(error);

      // Assess
      expect(translated).toBeInstanceOf(type);
      expect(translated).toMatchObject({ exitCode, message: expect.stringContaining((error as Error).message) });
    }
  });

  it('explains an unreachable endpoint', () => {
    // Prepare
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });

    // Act
    const translated = toCliError(refused);

    // Assess
    expect(translated).toBeInstanceOf(OperationFailedError);
    expect((translated as Error).message).toContain('cannot reach the AWS endpoint (connect ECONNREFUSED 127.0.0.1:4566)');
  });

  it('passes other errors through unchanged', () => {
    // Prepare
    const other = new Error('AccessDenied');

    // Act / Assess
    expect(toCliError(other)).toBe(other);
  });
});
