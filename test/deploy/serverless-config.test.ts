import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../src/deploy';
import { WORKFLOW_NAMES } from '../../src/workflows/workflow-schemas';

const text = readFileSync(join(repositoryRoot(), 'serverless.yml'), 'utf8');

/** Every `${...}` of the file with the line it is on. */
function variables(): { line: number; body: string }[] {
  return text.split('\n').flatMap((content, index) =>
    [...content.replace(/#.*$/, '').matchAll(/\$\{([^{}]+)\}/g)].map((match) => ({ line: index + 1, body: match[1]!.trim() })),
  );
}

// The local stack resolves these with a plain YAML reader; anything else would need the framework.
const FRAMEWORK_SOURCES = /^(self:|sls:stage$|aws:region$|aws:accountId$|opt:|param:|env:)/;
const NEED_DEFAULT = /^(opt|param|env):/;

describe('Function: serverless.yml (conventions the local stack and offline packaging rely on)', () => {
  it('parses with a plain YAML parser: intrinsics in long form, no short tags', () => {
    // Act
    const config = load(text) as Record<string, any>;

    // Assess
    expect(config.service).toBe('smhost');
    expect(config.provider).toMatchObject({ name: 'aws', runtime: 'nodejs22.x', architecture: 'arm64' });
    expect(text).not.toMatch(/(^|\s)!(Ref|GetAtt|Sub|If|Join|Select|Split|Equals|Not|And|Or|FindInMap|Base64|GetAZs|ImportValue)\b/m);
  });

  it('uses only framework variables the local stack resolves, each optional one with a default', () => {
    // Act
    const framework = variables().filter(({ body }) => /^[a-zA-Z]+:(?!:)/.test(body));
    const unknown = framework.filter(({ body }) => !FRAMEWORK_SOURCES.test(body));
    const withoutDefault = framework.filter(({ body }) => NEED_DEFAULT.test(body) && !body.includes(','));

    // Assess
    expect(framework.length).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
    expect(withoutDefault).toEqual([]);
  });

  it('needs no credentials to resolve: the account id comes from CloudFormation, not ${aws:accountId}', () => {
    // Act
    const accountVariables = variables().filter(({ body }) => body === 'aws:accountId');
    const cloudFormation = variables().filter(({ body }) => body === 'AWS::AccountId');

    // Assess
    expect(accountVariables).toEqual([]);
    expect(cloudFormation.length).toBeGreaterThan(0);
  });

  it('is stage-aware, defaulting to dev in us-east-1', () => {
    // Act
    const config = load(text) as Record<string, any>;

    // Assess
    expect(config.provider.stage).toBe("${opt:stage, 'dev'}");
    expect(config.provider.region).toBe("${opt:region, 'us-east-1'}");
  });

  it('loads every state machine definition with ${file(statemachines/<workflow>.asl.json)}, and nothing else from files', () => {
    // Prepare
    const config = load(text) as Record<string, any>;

    // Act
    const files = variables().filter(({ body }) => body.startsWith('file('));
    const definitions = Object.values(config.stepFunctions.stateMachines).map((machine: any) => machine.definition);

    // Assess
    expect(files.map(({ body }) => body).sort()).toEqual(
      WORKFLOW_NAMES.map((workflow) => `file(statemachines/${workflow}.asl.json)`).sort(),
    );
    expect(definitions.sort()).toEqual(files.map(({ body }) => `\${${body}}`).sort());
    for (const { body } of files) {
      expect(existsSync(join(repositoryRoot(), /^file\((.*)\)$/.exec(body)![1]!))).toBe(true);
    }
  });
});
