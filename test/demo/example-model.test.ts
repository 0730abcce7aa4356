import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractArchive } from '../../src/artifacts';
import { ExampleModelUsageError, parseExampleModelArgs, writeExampleModel } from '../../src/demo/example-model';
import { predictDirect } from '../../src/demo/onnx-reference';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'example-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function usageError(argv: string[]): ExampleModelUsageError {
  try {
    parseExampleModelArgs(argv);
  } catch (error) {
    if (error instanceof ExampleModelUsageError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${JSON.stringify(argv)}`);
}

describe('Function: parseExampleModelArgs', () => {
  it('takes an output file, the feature columns and a sample file', () => {
    // Act
    const options = parseExampleModelArgs(['petal.tar.gz', '--features', '2, 3', '--sample', 'petal.json']);

    // Assess: files are named from where `npm run` was typed (INIT_CWD), not from the package root.
    const here = process.env.INIT_CWD ?? process.cwd();
    expect(options).toEqual({ out: join(here, 'petal.tar.gz'), features: [2, 3], sample: join(here, 'petal.json') });
    expect(parseExampleModelArgs(['/tmp/iris.tar.gz'])).toEqual({ out: '/tmp/iris.tar.gz', features: [0, 1, 2, 3] });
  });

  it('refuses a missing or extra output file, a name without .tar.gz, bad columns and unknown options, naming each', () => {
    // Act
    const messages = [
      [],
      ['a.tar.gz', 'b.tar.gz'],
      ['iris.zip'],
      ['iris.tar.gz', '--features', '1,4'],
      ['iris.tar.gz', '--features', '2,2'],
      ['iris.tar.gz', '--epochs', '3'],
    ].map((argv) => usageError(argv).message);

    // Assess
    expect(messages[0]).toBe('give exactly one output file, e.g. iris.tar.gz');
    expect(messages[1]).toBe('give exactly one output file, e.g. iris.tar.gz');
    expect(messages[2]).toBe('output file "iris.zip" must end in .tar.gz (it is a gzip-compressed tar)');
    expect(messages[3]).toMatch(/^--features "1,4" must list distinct Iris column indices from 0 to 3/);
    expect(messages[4]).toMatch(/^--features "2,2" must list distinct/);
    expect(messages[5]).toMatch(/--epochs/);
  });
});

describe('Function: writeExampleModel', () => {
  it('writes an archive the built-in container serves and a sample it answers with a class index', async () => {
    // Prepare
    const out = join(dir, 'petal.tar.gz');
    const sample = join(dir, 'petal.json');

    // Act
    const lines = await writeExampleModel({ out, features: [2, 3], sample });

    // Assess
    const inspection = await extractArchive(createReadStream(out), join(dir, 'model'));
    expect(inspection.entryCount).toBe(1);
    const request = JSON.parse(await readFile(sample, 'utf8')) as { instances: number[][] };
    expect(request.instances[0]).toHaveLength(2);
    const [label] = await predictDirect(await readFile(join(dir, 'model', 'model.onnx')), request.instances);
    expect([0, 1, 2]).toContain(label);
    expect(lines[0]).toMatch(/^wrote .*petal\.tar\.gz: model\.onnx, an Iris classifier on columns 2,3 \(held-out accuracy (?:0\.9\d|1\.00)\)/);
    expect(lines[1]).toContain('petal.json');
  });
});
