/**
 * An Iris classifier for the tests that drive the stack from outside, and the reference they compare the endpoint
 * with: the same ONNX graph run directly in onnxruntime, in this process, on the same rows.
 */
import { gunzipSync } from 'node:zlib';
import { ort } from '../../../src/onnx/runtime';
import tar from 'tar-stream';
import { buildSoftmaxClassifierModel, fitStandardScaler, loadIris, packOnnxModel, trainSoftmaxRegression } from '../../../src/onnx';

export interface IrisArchive {
  /** `model.tar.gz` with `model.onnx` inside. */
  archive: Buffer;
  onnx: Uint8Array;
  /** Every fifth row of Iris, held out from training, raw measurements. */
  heldOut: { rows: number[][]; labels: number[] };
}

/**
 * Trains a softmax classifier on four fifths of Iris, with the standardisation folded into its weights, so the
 * graph takes raw measurements and answers `label` (first output) and `probabilities`.
 */
export async function buildIrisArchive(): Promise<IrisArchive> {
  const iris = loadIris();
  const train = { rows: [] as number[][], labels: [] as number[] };
  const heldOut = { rows: [] as number[][], labels: [] as number[] };
  iris.features.forEach((row, i) => {
    const part = i % 5 === 0 ? heldOut : train;
    part.rows.push(row);
    part.labels.push(iris.labels[i]!);
  });
  const scaler = fitStandardScaler(train.rows);
  const scaled = train.rows.map((row) => row.map((x, j) => (x - scaler.mean[j]!) / scaler.scale[j]!));
  const fitted = trainSoftmaxRegression(scaled, train.labels, iris.classNames.length, { epochs: 300 });
  const weights = fitted.weights.map((row, j) => row.map((w) => w / scaler.scale[j]!));
  const bias = fitted.bias.map((b, k) => b - weights.reduce((sum, row, j) => sum + scaler.mean[j]! * row[k]!, 0));
  const onnx = buildSoftmaxClassifierModel({ weights, bias }, { outputs: ['label', 'probabilities'] });
  return { archive: await packOnnxModel(onnx), onnx, heldOut };
}

/** The bytes of `name` inside a `.tar.gz`; throws naming the file when it is absent. */
export async function fileFromArchive(archive: Buffer, name = 'model.onnx'): Promise<Uint8Array> {
  const extract = tar.extract();
  let found: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.name === name || header.name === `./${name}`) found = Buffer.concat(chunks);
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(gunzipSync(archive));
  await done;
  if (!found) throw new Error(`the archive holds no ${name}`);
  return found;
}

/** The graph's first output for each row (a classifier's label), run directly in onnxruntime. */
export async function firstOutputDirect(onnx: Uint8Array, rows: readonly (readonly number[])[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const feed = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
    const outputs = await session.run({ [session.inputNames[0]!]: feed });
    return Array.from(outputs[session.outputNames[0]!]!.data as ArrayLike<number | bigint>, (value) => Number(value));
  } finally {
    await session.release();
  }
}
