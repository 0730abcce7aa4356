import { describe, expect, it } from 'vitest';
import { mockedContext, run, stubRegistry } from './fakes';

describe('Function: runCli', () => {
  it('prints usage with the exit codes on --help and exits 0', async () => {
    // Act
    const result = await run(['--help']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout()).toContain('Usage: smhost');
    expect(result.stdout()).toContain('\n  4    timed out waiting');
    expect(result.stdout()).toContain('\n  130  interrupted (Ctrl-C) while waiting (the operation goes on');
    // Help wraps descriptions at the terminal's width: compare the words, not the line breaks.
    expect(result.stdout().replace(/\s+/g, ' ')).toContain('AWS_ENDPOINT_URL, or per service AWS_ENDPOINT_URL_<SERVICE> such as AWS_ENDPOINT_URL_S3');
    expect(result.stdout()).not.toContain('AWS_ENDPOINT_URL*');
  });

  it('shows option defaults as values, not quoted strings, and explains run --poll', async () => {
    // Act
    const add = await run(['models', 'add', '--help']);
    const runHelp = await run(['run', '--help']);

    // Assess: help wraps descriptions at the terminal's width, so words are compared, not line breaks
    const [addText, runText] = [add.stdout(), runHelp.stdout()].map((text) => text.replace(/\s+/g, ' '));
    expect(addText).toContain('(default: 600)');
    expect(addText).not.toMatch(/default: "/);
    expect(runText).toMatch(/--poll <seconds> with --wait: seconds between reads of the execution's history/);
    expect(runText).toContain('(default: 2)');
    expect(runText).toContain('Ctrl-C stops following (exit 130)');
  });

  it('lists every verb under "models --help"', async () => {
    // Act
    const result = await run(['models', '--help']);

    // Assess
    expect(result.code).toBe(0);
    for (const verb of ['add', 'list', 'versions', 'promote', 'remove', 'prune', 'redrive', 'invoke']) {
      expect(result.stdout()).toMatch(new RegExp(`\\n  ${verb} `));
    }
  });

  it('lists run and delete with their options', async () => {
    // Act
    const top = await run(['--help']);
    const runHelp = await run(['run', '--help']);
    const deleteHelp = await run(['delete', '--help']);

    // Assess
    expect([top.code, runHelp.code, deleteHelp.code]).toEqual([0, 0, 0]);
    expect(top.stdout()).toMatch(/\n  run \[options\] <state-machine>/);
    expect(top.stdout()).toMatch(/\n  delete /);
    for (const option of ['--input <file>', '--wait', '--timeout <seconds>', '--name <execution>']) {
      expect(runHelp.stdout()).toContain(option);
    }
    expect(deleteHelp.stdout()).toMatch(/\n  model <name>/);
    expect(deleteHelp.stdout()).toMatch(/\n  endpoint \[options\] <name>/);
  });

  it('exits 2 without a command, with an unknown verb, a missing argument or an unknown option', async () => {
    // Act
    const results = await Promise.all([
      run([]),
      run(['models', 'frobnicate']),
      run(['models', 'add', 'ep1']),
      run(['models', 'list', 'ep1', '--colour']),
      run(['models', 'prune', 'ep1', 'm1']),
    ]);

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2]);
    expect(results[1]!.stderr()).toContain("unknown command 'frobnicate'");
    expect(results[2]!.stderr()).toContain("missing required argument 'model'");
    expect(results[3]!.stderr()).toContain("unknown option '--colour'");
    expect(results[4]!.stderr()).toContain("required option '--keep <n>' not specified");
  });

  it('with --json, answers a usage error with one JSON error document', async () => {
    // Act
    const result = await run(['models', 'add', 'ep1', '--json']);

    // Assess
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout())).toEqual({
      error: { name: 'UsageError', message: "missing required argument 'model'", exitCode: 2 },
    });
  });

  it('refuses bad global options before building any client', async () => {
    // Prepare
    const { factory, contextsCreated } = mockedContext(stubRegistry({}));

    // Act
    const results = await Promise.all([
      run(['models', 'list', 'ep1', '--stage', 'prod!'], factory),
      run(['models', 'list', 'ep1', '--region', 'moon'], factory),
      run(['--endpoint-url', 'localhost:4566', 'models', 'list', 'ep1'], factory),
      // A stage with capitals can never name a bucket: refused here, not found later.
      run(['models', 'list', 'ep1', '--stage', 'Prod'], factory),
    ]);

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[3]!.stderr()).toContain('invalid --stage "Prod": must be lowercase letters and digits');
    expect(results[0]!.stderr()).toContain('invalid --stage "prod!": must be lowercase letters and digits');
    expect(results[1]!.stderr()).toContain('invalid --region "moon": must be an AWS region name');
    expect(results[2]!.stderr()).toContain('invalid --endpoint-url "localhost:4566": must be an http');
    expect(contextsCreated()).toBe(0);
  });

  it('refuses a bad endpoint name with exit 2 and builds no client', async () => {
    // Prepare
    const { factory, contextsCreated } = mockedContext(stubRegistry({}));

    // Act
    const result = await run(['models', 'versions', 'my_endpoint', 'm1', '--json'], factory);

    // Assess
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout()).error).toMatchObject({ name: 'InvalidInputError', input: 'endpoint "my_endpoint"' });
    expect(result.stderr()).toMatch(/^smhost: invalid endpoint "my_endpoint": .*SageMaker's pattern/);
    expect(contextsCreated()).toBe(0);
  });

  it('accepts global options before or after the verb', async () => {
    // Prepare
    const { factory } = mockedContext(stubRegistry({ getModel: async () => undefined, listVersions: async () => [] }));

    // Act
    const before = await run(['--json', '--stage', 'prod', 'models', 'versions', 'ep1', 'm1'], factory);
    const after = await run(['models', 'versions', 'ep1', 'm1', '--json', '--stage', 'prod'], factory);

    // Assess
    expect(before.code).toBe(3);
    expect(after.code).toBe(3);
    expect(JSON.parse(before.stdout())).toEqual(JSON.parse(after.stdout()));
  });
});
