import { describe, expect, it } from 'vitest';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ort } from '../../src/onnx/runtime';
import {
  buildLabelDecoderModel,
  buildScalerModel,
  buildSoftmaxClassifierModel,
  fitStandardScaler,
  InvalidModelInputError,
  loadIris,
  packModelArchive,
  packOnnxModel,
  predictSoftmaxRegression,
  trainSoftmaxRegression,
} from '../../src/onnx';

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function floatRows(rows: number[][]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        files.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([archive]).pipe(createGunzip()).pipe(extract);
  await done;
  return files;
}

describe('Function: fitStandardScaler', () => {
  it('gives zero mean and unit variance through the ONNX-ML Scaler graph', async () => {
    // Prepare
    const { features } = loadIris();
    const scaler = fitStandardScaler(features);

    // Act
    const out = await run(buildScalerModel(scaler), { input: floatRows(features) });

    // Assess
    const scaled = out.scaled!.data as Float32Array;
    for (let j = 0; j < 4; j++) {
      const column = features.map((_, i) => scaled[i * 4 + j]!);
      const mean = column.reduce((a, b) => a + b, 0) / column.length;
      const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
      expect(mean).toBeCloseTo(0, 4);
      expect(variance).toBeCloseTo(1, 3);
    }
  });

  it('keeps a scale of 1 for a constant feature', () => {
    // Act
    const scaler = fitStandardScaler([
      [1, 5],
      [2, 5],
    ]);

    // Assess
    expect(scaler.scale[1]).toBe(1);
  });

  it('rejects ragged and non-finite rows, naming the cell', () => {
    expect(() => fitStandardScaler([])).toThrow(/rows: must be a non-empty array/);
    expect(() => fitStandardScaler([[1, 2], [3]])).toThrow(/rows\[1\]: must have 2 values/);
    expect(() => fitStandardScaler([[1, Number.NaN]])).toThrow(InvalidModelInputError);
    expect(() => fitStandardScaler([[1, Number.NaN]])).toThrow(/rows\[0\]\[1\]: must be a finite number/);
  });
});

describe('Function: buildScalerModel', () => {
  it('rejects a zero scale and mismatched lengths', () => {
    expect(() => buildScalerModel({ mean: [0, 0], scale: [1, 0] })).toThrow(/scaler.scale\[1\]: must not be zero/);
    expect(() => buildScalerModel({ mean: [0, 0], scale: [1] })).toThrow(/scaler.scale: must have 2 values/);
  });
});

describe('Function: trainSoftmaxRegression', () => {
  it('learns Iris, and the ONNX graph predicts what the TypeScript model predicts', async () => {
    // Prepare
    const { features, labels } = loadIris();
    const scaler = fitStandardScaler(features);
    const scaledOut = await run(buildScalerModel(scaler), { input: floatRows(features) });
    const scaledData = scaledOut.scaled!.data as Float32Array;
    const scaled = features.map((_, i) => Array.from(scaledData.subarray(i * 4, i * 4 + 4)));

    // Act
    const model = trainSoftmaxRegression(scaled, labels, 3);
    const out = await run(buildSoftmaxClassifierModel(model), { input: floatRows(scaled) });

    // Assess
    const expected = predictSoftmaxRegression(model, scaled);
    const predicted = Array.from(out.label!.data as BigInt64Array, Number);
    expect(predicted).toEqual(expected);
    const accuracy = predicted.filter((p, i) => p === labels[i]).length / labels.length;
    expect(accuracy).toBeGreaterThan(0.93);
    const probabilities = out.probabilities!.data as Float32Array;
    expect(probabilities[0]! + probabilities[1]! + probabilities[2]!).toBeCloseTo(1, 5);
    expect(out.probabilities!.dims).toEqual([150, 3]);
  });

  it('orders outputs as asked, so the first one is what a container answers with', async () => {
    // Prepare
    const model = trainSoftmaxRegression([[0], [1]], [0, 1], 2, { epochs: 5 });

    // Act
    const session = await ort.InferenceSession.create(buildSoftmaxClassifierModel(model, { outputs: ['probabilities'] }));

    // Assess
    expect(session.outputNames).toEqual(['probabilities']);
    await session.release();
  });

  it('rejects labels that do not fit, naming the label', () => {
    expect(() => trainSoftmaxRegression([[1], [2]], [0], 2)).toThrow(/labels: must have one label per row/);
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 2], 2)).toThrow(/labels\[1\]: must be an integer in 0..1/);
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 1], 1)).toThrow(/classes: must be an integer ≥ 2/);
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 1], 2, { epochs: 0 })).toThrow(/options.epochs/);
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 1], 2, { learningRate: -1 })).toThrow(/options.learningRate/);
  });

  it('rejects a classifier whose bias does not match its classes, and unknown outputs', () => {
    expect(() => buildSoftmaxClassifierModel({ weights: [[1, 2]], bias: [0] })).toThrow(/model.bias: must have one value per class/);
    expect(() =>
      buildSoftmaxClassifierModel({ weights: [[1, 2]], bias: [0, 0] }, { outputs: ['x' as 'label'] }),
    ).toThrow(/options.outputs\[0\]/);
  });
});

describe('Function: buildLabelDecoderModel', () => {
  it('turns class indices into names as a string tensor, unknown indices into the default', async () => {
    // Prepare
    const model = buildLabelDecoderModel(['setosa', 'versicolor', 'virginica']);

    // Act
    const out = await run(model, { label: new ort.Tensor('int64', BigInt64Array.from([2n, 0n, 7n]), [3]) });

    // Assess
    expect(Array.from(out.class!.data as string[])).toEqual(['virginica', 'setosa', 'unknown']);
  });

  it('rejects empty label lists and empty names', () => {
    expect(() => buildLabelDecoderModel([])).toThrow(/labels: must be a non-empty array/);
    expect(() => buildLabelDecoderModel(['a', ''])).toThrow(/labels\[1\]: must be a non-empty string/);
  });
});

describe('Function: packModelArchive', () => {
  it('writes a gzip tar with the files at their paths, byte-identical for identical input', async () => {
    // Prepare
    const model = buildLabelDecoderModel(['a', 'b']);

    // Act
    const archive = await packOnnxModel(model);
    const again = await packOnnxModel(model);
    const files = await untar(archive);

    // Assess
    expect(archive[0]).toBe(0x1f);
    expect(archive.equals(again)).toBe(true);
    expect([...files.keys()]).toEqual(['model.onnx']);
    expect(files.get('model.onnx')!.equals(Buffer.from(model))).toBe(true);
  });

  it('rejects unsafe and duplicate paths', async () => {
    await expect(packModelArchive([])).rejects.toThrow(/files: must list at least one file/);
    await expect(packModelArchive([{ path: '../x', data: 'a' }])).rejects.toThrow(/files\[0\].path/);
    await expect(packModelArchive([{ path: '/abs', data: 'a' }])).rejects.toThrow(/files\[0\].path/);
    await expect(
      packModelArchive([
        { path: 'a', data: 'a' },
        { path: 'a', data: 'b' },
      ]),
    ).rejects.toThrow(/files\[1\].path: must be unique/);
  });
});
