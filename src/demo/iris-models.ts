import {
  buildLabelDecoderModel,
  buildScalerModel,
  fitStandardScaler,
  loadIris,
  packOnnxModel,
  predictSoftmaxRegression,
  trainSoftmaxRegression,
  buildSoftmaxClassifierModel,
  type SoftmaxRegression,
} from '../onnx';

/** A classifier trained on some Iris features, packed as a SageMaker `model.tar.gz`. */
export interface DemoModel {
  name: string;
  /** Column indices of Iris used as features, in order. */
  features: number[];
  /** The packed archive (`model.onnx` inside). */
  archive: Buffer;
  /** The ONNX graph, to compare the endpoint's answers with onnxruntime run directly. */
  onnx: Uint8Array;
  /** Accuracy on the held-out rows, computed in TypeScript from the trained weights. */
  heldOutAccuracy: number;
  /** A warm-up request: the first held-out row, as the built-in container reads JSON. */
  sample: { instances: number[][] };
}

export interface IrisSplit {
  train: { rows: number[][]; labels: number[] };
  test: { rows: number[][]; labels: number[] };
  classNames: string[];
}

/** Every fifth row is held out: a fixed split, so the demo's figures are the same on every run. */
export function splitIris(): IrisSplit {
  const iris = loadIris();
  const split: IrisSplit = { train: { rows: [], labels: [] }, test: { rows: [], labels: [] }, classNames: iris.classNames };
  iris.features.forEach((row, i) => {
    const part = i % 5 === 0 ? split.test : split.train;
    part.rows.push(row);
    part.labels.push(iris.labels[i]!);
  });
  return split;
}

export function selectColumns(rows: readonly (readonly number[])[], columns: readonly number[]): number[][] {
  return rows.map((row) => columns.map((c) => row[c]!));
}

/**
 * Folds standardisation into the weights (`w/σ`, `b − Σ μ·w/σ`), so a model trained on standardised
 * features takes raw measurements and one ONNX graph is the whole model.
 */
function foldScaler(model: SoftmaxRegression, mean: number[], scale: number[]): SoftmaxRegression {
  const weights = model.weights.map((row, j) => row.map((w) => w / scale[j]!));
  const bias = model.bias.map((b, k) => b - weights.reduce((sum, row, j) => sum + mean[j]! * row[k]!, 0));
  return { weights, bias };
}

/** Trains a softmax regression on the given Iris columns and packs it for the built-in ONNX container. */
export async function trainIrisModel(name: string, features: number[], split: IrisSplit, epochs = 500): Promise<DemoModel> {
  const trainRows = selectColumns(split.train.rows, features);
  const scaler = fitStandardScaler(trainRows);
  const standardised = trainRows.map((row) => row.map((v, j) => (v - scaler.mean[j]!) / scaler.scale[j]!));
  const trained = trainSoftmaxRegression(standardised, split.train.labels, split.classNames.length, { epochs });
  const model = foldScaler(trained, scaler.mean, scaler.scale);
  const testRows = selectColumns(split.test.rows, features);
  const predicted = predictSoftmaxRegression(model, testRows);
  const correct = predicted.filter((label, i) => label === split.test.labels[i]).length;
  const onnx = buildSoftmaxClassifierModel(model, { outputs: ['label', 'probabilities'] });
  return {
    name,
    features,
    archive: await packOnnxModel(onnx),
    onnx,
    heldOutAccuracy: correct / testRows.length,
    sample: { instances: [testRows[0]!] },
  };
}

/** Uploads that registration must refuse, each with the rule it breaks. */
export interface RefusedUpload {
  model: string;
  body: Buffer;
  rule: string;
  what: string;
}

export async function refusedUploads(): Promise<RefusedUpload[]> {
  const { default: tar } = await import('tar-stream');
  const { gzipSync } = await import('node:zlib');
  const tarOf = async (add: (pack: ReturnType<typeof tar.pack>) => void): Promise<Buffer> => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    const done = new Promise<void>((resolve, reject) => {
      pack.on('end', resolve);
      pack.on('error', reject);
    });
    add(pack);
    pack.finalize();
    await done;
    return gzipSync(Buffer.concat(chunks));
  };
  return [
    { model: 'notes', body: Buffer.from('these are my notes, not a model\n'), rule: 'not-gzip', what: 'a text file named .tar.gz' },
    {
      model: 'escape',
      body: await tarOf((pack) => pack.entry({ name: '../../outside.txt' }, 'escaped')),
      rule: 'parent-traversal',
      what: 'an archive whose entry climbs out with ..',
    },
    {
      model: 'linked',
      body: await tarOf((pack) => {
        pack.entry({ name: 'model.onnx', type: 'symlink', linkname: '/etc/passwd' });
      }),
      rule: 'entry-type',
      what: 'an archive holding a symlink',
    },
  ];
}

/** The three graphs of the demo's inference pipeline, each packed as its own `model.tar.gz`. */
export interface PipelineModels {
  scaler: { onnx: Uint8Array; archive: Buffer };
  classifier: { onnx: Uint8Array; archive: Buffer };
  decoder: { onnx: Uint8Array; archive: Buffer };
}

/**
 * A scaler, a classifier trained on scaled rows, and a decoder from class index to species name: raw
 * measurements in, labels out, as three containers in series.
 */
export async function trainPipelineModels(split: IrisSplit): Promise<PipelineModels> {
  const scalerParams = fitStandardScaler(split.train.rows);
  const scaled = split.train.rows.map((row) => row.map((v, j) => (v - scalerParams.mean[j]!) / scalerParams.scale[j]!));
  const trained = trainSoftmaxRegression(scaled, split.train.labels, split.classNames.length, { epochs: 500 });
  const scaler = buildScalerModel(scalerParams);
  const classifier = buildSoftmaxClassifierModel(trained, { outputs: ['label', 'probabilities'] });
  const decoder = buildLabelDecoderModel(split.classNames);
  return {
    scaler: { onnx: scaler, archive: await packOnnxModel(scaler) },
    classifier: { onnx: classifier, archive: await packOnnxModel(classifier) },
    decoder: { onnx: decoder, archive: await packOnnxModel(decoder) },
  };
}
