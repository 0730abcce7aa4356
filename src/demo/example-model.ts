/**
 * `npm run example-model -- <file.tar.gz> [--features 0,1,2,3] [--sample <file.json>]`: trains the demo's Iris
 * classifier on the chosen measurement columns (sepal length, sepal width, petal length, petal width) and
 * writes it as a SageMaker `model.tar.gz` the built-in ONNX container serves; with `--sample`, also a request
 * for it (`{"instances": [[...]]}`), which is what the registration's warm-up reads beside an upload.
 * A model to try the local stack with, without writing any code.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { splitIris, trainIrisModel } from './iris-models';
import { isEntryPoint } from './entry-point';

const IRIS_COLUMNS = 4;

/** A command-line input that breaks a rule; the message names the input and the rule. */
export class ExampleModelUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExampleModelUsageError';
  }
}

export interface ExampleModelOptions {
  out: string;
  features: number[];
  sample?: string;
}

/** Reads the command line; throws ExampleModelUsageError naming the input that breaks a rule. */
export function parseExampleModelArgs(argv: string[]): ExampleModelOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { features: { type: 'string' }, sample: { type: 'string' } } });
  } catch (error) {
    throw new ExampleModelUsageError((error as Error).message);
  }
  const [out, ...extra] = parsed.positionals;
  if (out === undefined || extra.length > 0) {
    throw new ExampleModelUsageError('give exactly one output file, e.g. iris.tar.gz');
  }
  if (!out.endsWith('.tar.gz')) throw new ExampleModelUsageError(`output file "${out}" must end in .tar.gz (it is a gzip-compressed tar)`);
  const text = parsed.values.features ?? '0,1,2,3';
  const features = text.split(',').map((part) => part.trim());
  if (features.some((part) => !/^[0-3]$/.test(part)) || new Set(features).size !== features.length) {
    throw new ExampleModelUsageError(
      `--features "${text}" must list distinct Iris column indices from 0 to ${IRIS_COLUMNS - 1}, separated by commas (0 sepal length, 1 sepal width, 2 petal length, 3 petal width)`,
    );
  }
  // `npm run` starts scripts at the package root; files are named from where the user typed the command.
  const here = process.env.INIT_CWD ?? process.cwd();
  const sample = parsed.values.sample;
  return { out: resolve(here, out), features: features.map(Number), ...(sample !== undefined ? { sample: resolve(here, sample) } : {}) };
}

/** Trains and writes the archive (and the sample); returns what to tell the user. */
export async function writeExampleModel(options: ExampleModelOptions): Promise<string[]> {
  const model = await trainIrisModel('iris', options.features, splitIris());
  await writeFile(options.out, model.archive);
  const lines = [
    `wrote ${options.out}: model.onnx, an Iris classifier on columns ${options.features.join(',')} ` +
      `(held-out accuracy ${model.heldOutAccuracy.toFixed(2)}); it answers {"predictions": [label index 0, 1 or 2]}`,
  ];
  if (options.sample !== undefined) {
    await writeFile(options.sample, `${JSON.stringify(model.sample)}\n`);
    lines.push(`wrote ${options.sample}: ${JSON.stringify(model.sample)}`);
  }
  return lines;
}

if (isEntryPoint(import.meta.url)) {
  try {
    for (const line of await writeExampleModel(parseExampleModelArgs(process.argv.slice(2)))) console.log(line);
  } catch (error) {
    console.error(`example-model: ${(error as Error).message}`);
    process.exitCode = error instanceof ExampleModelUsageError ? 2 : 1;
  }
}
