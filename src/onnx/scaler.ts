import { encodeModel, ML_DOMAIN, node, tensorValue } from './graph';
import { InvalidModelInputError } from './errors';
import { assertNumericMatrix, assertNumericVector } from './validation';

/** The parameters of a standard scaler: each feature becomes `(x - mean) / scale`. */
export interface StandardScaler {
  mean: number[];
  scale: number[];
}

/**
 * Fits a standard scaler on `rows` (population standard deviation, as scikit-learn's `StandardScaler`).
 * A feature that never varies keeps a scale of 1, so it maps to 0 instead of dividing by zero.
 */
export function fitStandardScaler(rows: readonly (readonly number[])[]): StandardScaler {
  const width = assertNumericMatrix(rows, 'rows');
  const mean = new Array<number>(width).fill(0);
  for (const row of rows) row.forEach((v, j) => (mean[j]! += v / rows.length));
  const variance = new Array<number>(width).fill(0);
  for (const row of rows) row.forEach((v, j) => (variance[j]! += (v - mean[j]!) ** 2 / rows.length));
  return { mean, scale: variance.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

export interface ScalerModelOptions {
  /** Name of the graph input (a float tensor `[N, features]`); defaults to `input`. */
  inputName?: string;
  /** Name of the graph output; defaults to `scaled`. */
  outputName?: string;
}

/**
 * Builds the ONNX model of a standard scaler with the ONNX-ML `Scaler` operator, which computes
 * `(x - offset) * scale`; the reciprocal of the scale is stored so the model matches `(x - mean) / scale`.
 */
export function buildScalerModel(scaler: StandardScaler, options: ScalerModelOptions = {}): Uint8Array {
  assertNumericVector(scaler.mean, 'scaler.mean');
  assertNumericVector(scaler.scale, 'scaler.scale', scaler.mean.length);
  scaler.scale.forEach((s, i) => {
    if (s === 0) throw new InvalidModelInputError(`scaler.scale[${i}]`, 'must not be zero');
  });
  const input = options.inputName ?? 'input';
  const output = options.outputName ?? 'scaled';
  const width = scaler.mean.length;
  return encodeModel({
    name: 'standard_scaler',
    description: `Standard scaler over ${width} features`,
    inputs: [tensorValue(input, 'float', ['N', width])],
    outputs: [tensorValue(output, 'float', ['N', width])],
    nodes: [
      node(
        'Scaler',
        [input],
        [output],
        { offset: { floats: scaler.mean }, scale: { floats: scaler.scale.map((s) => 1 / s) } },
        ML_DOMAIN,
      ),
    ],
  });
}
