import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, OperationFailedError } from '../../src/cli/errors';
import { toCliError } from '../../src/cli/library-errors';
import { InvalidModelInputError, ModelNotFoundError, NoCurrentVersionError, WarmUpFailedError } from '../../src/multimodel/errors';
import { RegistryConflictError, RegistryNotFoundError } from '../../src/multimodel/registry';
import { settingOrigins } from '../../src/cli/settings-origins';

function sdkError(name: string, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 404 }, ...extra });
}

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

  it('names an endpoint an option or variable set when nothing answers there, and never blames credentials', () => {
    // Prepare
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4999'), { code: 'ECONNREFUSED' });

    // Act
    const byOption = toCliError(refused, settingOrigins({ endpointUrl: 'http://127.0.0.1:4999' }, {}));
    const byVariable = toCliError(refused, settingOrigins({}, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4999' }));

    // Assess
    expect((byOption as Error).message).toBe(
      'cannot reach the AWS endpoint (connect ECONNREFUSED 127.0.0.1:4999); the endpoint comes from --endpoint-url http://127.0.0.1:4999: ' +
        'check it, or start the local stack ("npm run local")',
    );
    expect((byVariable as Error).message).toContain('the endpoint comes from AWS_ENDPOINT_URL_S3: check it');
    expect((byOption as Error).message).not.toContain('credentials');
  });

  it('says which setting named a bucket or table that does not exist, with exit 3', () => {
    // Prepare
    const noBucket = (bucket: string) => sdkError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    const noTable = sdkError('ResourceNotFoundException', 'Requested resource not found');

    // Act
    const cases = [
      toCliError(noBucket('no-such-bucket'), settingOrigins({}, { SMHOST_BUCKET: 'no-such-bucket' })),
      toCliError(noBucket('smhost-prod-artifacts-000000000000'), settingOrigins({ stage: 'prod' }, {})),
      toCliError(noBucket('smhost-qa-artifacts-000000000000'), settingOrigins({}, { SMHOST_STAGE: 'qa' })),
      toCliError(noBucket('training-output'), settingOrigins({}, {})),
      toCliError(noTable, settingOrigins({}, { SMHOST_REGISTRY_TABLE: 'nope' })),
      toCliError(noTable, settingOrigins({ stage: 'prod' }, {})),
      toCliError(noTable, settingOrigins({}, {})),
    ];

    // Assess
    expect(cases.every((error) => error instanceof NotFoundError)).toBe(true);
    expect(cases.map((error) => (error as Error).message)).toEqual([
      'bucket "no-such-bucket" does not exist (named by SMHOST_BUCKET)',
      'bucket "smhost-prod-artifacts-000000000000" does not exist: it is the artifacts bucket of stage "prod" (from --stage prod); ' +
        'is the stack deployed for that stage? (SMHOST_BUCKET names another bucket)',
      'bucket "smhost-qa-artifacts-000000000000" does not exist: it is the artifacts bucket of stage "qa" (from SMHOST_STAGE=qa); ' +
        'is the stack deployed for that stage? (SMHOST_BUCKET names another bucket)',
      'bucket "training-output" does not exist',
      'registry table "nope" does not exist (named by SMHOST_REGISTRY_TABLE)',
      'registry table "smhost-prod-registry" does not exist: it is the registry of stage "prod" (from --stage prod); ' +
        'is the stack deployed for that stage? (SMHOST_REGISTRY_TABLE names another table)',
      'registry table "smhost-dev-registry" does not exist: it is the registry of the default stage "dev" (set --stage or SMHOST_STAGE ' +
        'for another); is the stack deployed for that stage? (SMHOST_REGISTRY_TABLE names another table)',
    ]);
  });

  it('leaves a SageMaker "not found" alone: only DynamoDB words it "Requested resource not found"', () => {
    // Prepare
    const sagemaker = sdkError('ResourceNotFoundException', 'Model package group iris does not exist');

    // Act / Assess
    expect(toCliError(sagemaker, settingOrigins({}, {}))).toBe(sagemaker);
  });

  it('passes other errors through unchanged', () => {
    // Prepare
    const other = new Error('AccessDenied');

    // Act / Assess
    expect(toCliError(other)).toBe(other);
  });
});
