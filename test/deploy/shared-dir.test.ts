import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cfnSchemasDir, repositoryRoot, SharedDirNotFoundError, sharedDir } from '../../src/deploy';

describe('Function: sharedDir', () => {
  it('finds ../shared beside the repository root, where CI clones it', () => {
    // Act
    const dir = sharedDir({});

    // Assess
    expect(dir).toBe(resolve(repositoryRoot(), '..', 'shared'));
    expect(existsSync(join(cfnSchemasDir({}), 'iam-policies.json'))).toBe(true);
  });

  it('takes SMHOST_SHARED_DIR when set, and names the missing path when it is not there', () => {
    // Prepare
    const missing = join(repositoryRoot(), 'no-such-shared-dir');

    // Act
    const failure = (() => {
      try {
        sharedDir({ SMHOST_SHARED_DIR: missing });
      } catch (error) {
        return error;
      }
      return undefined;
    })();

    // Assess
    expect(failure).toBeInstanceOf(SharedDirNotFoundError);
    expect((failure as SharedDirNotFoundError).path).toBe(missing);
    expect((failure as Error).message).toBe(
      `shared directory not found at ${missing}: it must sit beside the repository (../shared), or SMHOST_SHARED_DIR must name it`,
    );
  });
});
