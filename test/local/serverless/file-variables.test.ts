import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStackConfig } from '../../../src/local/serverless/stack-config';
import { resolveVariables, ServerlessVariableError } from '../../../src/local/serverless/variables';

describe('Function: resolveVariables, ${file(...)}', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smhost-file-vars-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const sources = (baseDir: string) => ({ options: {}, env: {}, accountId: '000000000000', baseDir });

  it('loads a JSON file beside serverless.yml and resolves the variables inside it', async () => {
    // Prepare
    await writeFile(join(dir, 'machine.asl.json'), JSON.stringify({ StartAt: 'A', Comment: '${self:service}-${sls:stage}' }));
    const document = { service: 'svc', provider: { stage: 'qa' }, sm: { definition: '${file(machine.asl.json)}' } };

    // Act
    const resolved = resolveVariables(document, sources(dir));

    // Assess
    expect(resolved.sm).toEqual({ definition: { StartAt: 'A', Comment: 'svc-qa' } });
  });

  it('reads one key of a YAML file', async () => {
    await writeFile(join(dir, 'settings.yml'), 'limits:\n  maxEntries: 42\n');
    const resolved = resolveVariables({ custom: { n: '${file(settings.yml):limits.maxEntries}' } }, sources(dir));
    expect(resolved.custom).toEqual({ n: 42 });
  });

  it('names the file and where it was used when it cannot be read or parsed', async () => {
    await writeFile(join(dir, 'broken.json'), '{ not json');
    expect(() => resolveVariables({ a: '${file(missing.json)}' }, sources(dir))).toThrow(ServerlessVariableError);
    expect(() => resolveVariables({ a: '${file(missing.json)}' }, sources(dir))).toThrow(/at a: \$\{file\(missing\.json\)\} cannot be read/);
    expect(() => resolveVariables({ a: '${file(broken.json)}' }, sources(dir))).toThrow(/broken\.json\)\} is not valid JSON/);
  });

  it('resolves file paths against the folder of the serverless.yml that readStackConfig reads', async () => {
    await writeFile(join(dir, 'name.yml'), 'queue: from-file\n');
    await writeFile(
      join(dir, 'serverless.yml'),
      [
        'service: svc',
        'provider:',
        '  name: aws',
        'resources:',
        '  Resources:',
        '    Queue:',
        '      Type: AWS::SQS::Queue',
        '      Properties:',
        '        QueueName: ${file(name.yml):queue}',
      ].join('\n'),
    );
    const config = readStackConfig(join(dir, 'serverless.yml'));
    expect(config.queues.map((q) => q.name)).toEqual(['from-file']);
  });
});
