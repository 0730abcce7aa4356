/**
 * The project's packaged CloudFormation template, for the tests that read it: `serverless package` run once
 * per test file into a temporary folder (removed afterwards), and its resources resolved the way the offline
 * checks see them, for the account and the parameter samples below.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type CfnTemplate, type ResolvedResource, TemplateEvaluator } from '../../src/cloudformation';
import { type CheckTemplateOptions, type PackagedService, packageService } from '../../src/deploy';

export const TEST_ACCOUNT = '123456789012';
export const TEST_STACK_NAME = 'smhost-dev';
/** A KMS key and an alarm topic for the template's optional parameters. */
export const SAMPLE_KMS_KEY = `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`;
export const SAMPLE_ALARM_TOPIC = `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:smhost-alarms`;

/** Check options that cover every branch of the template's optional parameters. */
export const SAMPLE_CHECK_OPTIONS: CheckTemplateOptions = {
  accountId: TEST_ACCOUNT,
  stackName: TEST_STACK_NAME,
  parameterSamples: { ArtifactsKmsKeyArn: [SAMPLE_KMS_KEY], AlarmTopicArn: [SAMPLE_ALARM_TOPIC], RetainVersions: ['3'] },
};

/** The packaged service of a test file, readable inside its tests. */
export interface PackagedServiceFixture {
  readonly packaged: PackagedService;
  /** The temporary folder holding the package, free for the tests' own files too. */
  readonly workDir: string;
  /** The packaged template's resources, resolved with these parameter values (see {@link resolvedResources}). */
  resolvedWith(parameters?: Record<string, string>): Map<string, ResolvedResource>;
}

/**
 * Packages the service before the file's tests (osls takes seconds: once per file) and removes the output
 * after them.
 */
export function usePackagedService(prefix: string): PackagedServiceFixture {
  let workDir: string | undefined;
  let packaged: PackagedService | undefined;
  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), prefix));
    packaged = await packageService({ outDir: join(workDir, 'package') });
  }, 240_000);
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });
  return {
    get packaged() {
      if (!packaged) throw new Error('the service is packaged in beforeAll; read it inside a test');
      return packaged;
    },
    get workDir() {
      if (!workDir) throw new Error('the package folder is made in beforeAll; read it inside a test');
      return workDir;
    },
    resolvedWith(parameters = {}) {
      return resolvedResources(this.packaged.template, parameters);
    },
  };
}

/** The template's resources by logical id, resolved with these parameter values; asserts nothing failed to resolve. */
export function resolvedResources(template: CfnTemplate, parameters: Record<string, string> = {}): Map<string, ResolvedResource> {
  const evaluator = new TemplateEvaluator(template, {
    accountId: TEST_ACCOUNT,
    region: 'us-east-1',
    partition: 'aws',
    stackName: TEST_STACK_NAME,
    parameters,
  });
  const { resolved, errors } = evaluator.resources();
  expect(errors.map((e) => e.message)).toEqual([]);
  return new Map(resolved.map((r) => [r.logicalId, r]));
}

/** The resolved properties of one resource; throws naming it when the template has no such resource. */
export function propertiesOf(resources: Map<string, ResolvedResource>, logicalId: string): Record<string, any> {
  const resource = resources.get(logicalId);
  if (!resource) throw new Error(`no resource ${logicalId} in the packaged template`);
  return resource.properties;
}

/** Every statement of the inline policies of a role. */
export function roleStatements(resources: Map<string, ResolvedResource>, roleId: string): Record<string, any>[] {
  return propertiesOf(resources, roleId).Policies.flatMap((p: any) => p.PolicyDocument.Statement);
}
