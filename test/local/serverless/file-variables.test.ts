import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStackConfig } from '../../../src/local/serverless/stack-config';
import { ServerlessVariableError } from '../../../src/local/serverless/errors';
import { resolveVariables } from '../../../src/local/serverless/variables';

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

  it('reads a key of a file, and files named inside a file relative to the service folder, as the framework does', async () => {
    // Prepare
    await mkdir(join(dir, 'parts'));
    await writeFile(join(dir, 'parts', 'a.yml'), 'inner: ${file(parts/b.json)}\nother: 1\n');
    await writeFile(join(dir, 'parts', 'b.json'), '{"deep":true}');

    // Act
    const value = resolveVariables({ whole: '${file(parts/a.yml)}', key: "${file('parts/a.yml'):other}" }, sources(dir));

    // Assess
    expect(value).toEqual({ whole: { inner: { deep: true }, other: 1 }, key: 1 });
  });

  it('reads a file that is neither JSON nor YAML as text', async () => {
    // Prepare
    await writeFile(join(dir, 'banner.txt'), 'key: not a mapping\n');

    // Act
    const resolved = resolveVariables({ whole: '${file(banner.txt)}', inside: 'say ${file(banner.txt)}' }, sources(dir));

    // Assess
    expect(resolved).toEqual({ whole: 'key: not a mapping\n', inside: 'say key: not a mapping\n' });
  });

  it('refuses an object file inside a longer text, and names the file and where it was used when it cannot be read or parsed', async () => {
    await writeFile(join(dir, 'object.json'), '{}');
    expect(() => resolveVariables({ a: 'x ${file(object.json)}' }, sources(dir))).toThrow(/at a: \$\{file\(object\.json\)\} is an object .* must be the whole value/);
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
