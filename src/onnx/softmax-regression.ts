import { encodeModel, floatTensor, node, tensorValue } from './graph';
import { InvalidModelInputError } from './errors';
import { assertNumericMatrix } from './validation';

/** A trained multinomial logistic (softmax) regression: `softmax(x · weights + bias)`. */
export interface SoftmaxRegression {
  /** `[features][classes]`. */
  weights: number[][];
  /** `[classes]`. */
  bias: number[];
}

export interface TrainingOptions {
  /** Full-batch gradient descent steps; defaults to 500. */
  epochs?: number;
  /** Step size; defaults to 0.5, which suits standardized features. */
  learningRate?: number;
  /** L2 penalty on the weights (not the bias); defaults to 1e-4. */
  l2?: number;
}

function softmaxInPlace(logits: number[]): number[] {
  const max = Math.max(...logits);
  let sum = 0;
  for (let k = 0; k < logits.length; k++) {
    logits[k] = Math.exp(logits[k]! - max);
    sum += logits[k]!;
  }
  for (let k = 0; k < logits.length; k++) logits[k]! /= sum;
  return logits;
}

/**
 * Trains a softmax regression by full-batch gradient descent on the cross-entropy loss. Weights start at
 * zero, so the same data always gives the same model. `labels` are class indices `0 .. classes - 1`.
 */
export function trainSoftmaxRegression(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  classes: number,
  options: TrainingOptions = {},
): SoftmaxRegression {
  const width = assertNumericMatrix(rows, 'rows');
  if (!Number.isInteger(classes) || classes < 2) throw new InvalidModelInputError('classes', 'must be an integer ≥ 2');
  if (!Array.isArray(labels) || labels.length !== rows.length) {
    throw new InvalidModelInputError('labels', `must have one label per row (${rows.length})`);
  }
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new InvalidModelInputError(`labels[${i}]`, `must be an integer in 0..${classes - 1}`);
    }
  });
  const epochs = options.epochs ?? 500;
  const rate = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-4;
  if (!Number.isInteger(epochs) || epochs < 1) throw new InvalidModelInputError('options.epochs', 'must be an integer ≥ 1');
  if (!(rate > 0) || !Number.isFinite(rate)) throw new InvalidModelInputError('options.learningRate', 'must be a positive number');
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new InvalidModelInputError('options.l2', 'must be a number ≥ 0');

  const weights = Array.from({ length: width }, () => new Array<number>(classes).fill(0));
  const bias = new Array<number>(classes).fill(0);
  const n = rows.length;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gradW = Array.from({ length: width }, () => new Array<number>(classes).fill(0));
    const gradB = new Array<number>(classes).fill(0);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      const logits = bias.slice();
      for (let j = 0; j < width; j++) for (let k = 0; k < classes; k++) logits[k]! += row[j]! * weights[j]![k]!;
      const p = softmaxInPlace(logits);
      p[labels[i]!]! -= 1;
      for (let k = 0; k < classes; k++) {
        gradB[k]! += p[k]! / n;
        for (let j = 0; j < width; j++) gradW[j]![k]! += (row[j]! * p[k]!) / n;
      }
    }
    for (let k = 0; k < classes; k++) {
      bias[k]! -= rate * gradB[k]!;
      for (let j = 0; j < width; j++) weights[j]![k]! -= rate * (gradW[j]![k]! + l2 * weights[j]![k]!);
    }
  }
  return { weights, bias };
}

/** Predicts class indices in TypeScript, the reference the ONNX graph is checked against. */
export function predictSoftmaxRegression(model: SoftmaxRegression, rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => {
    const logits = model.bias.slice();
    row.forEach((x, j) => model.weights[j]!.forEach((w, k) => (logits[k]! += x * w)));
    return logits.indexOf(Math.max(...logits));
  });
}

export type ClassifierOutput = 'probabilities' | 'label';

export interface ClassifierModelOptions {
  /** Name of the graph input (a float tensor `[N, features]`); defaults to `input`. */
  inputName?: string;
  /**
   * Which outputs the graph has, in order: `label` (int64 `[N]`, the class index) and/or `probabilities`
   * (float `[N, classes]`). The built-in container answers with the first one unless told otherwise, so the
   * order decides what an endpoint returns. Defaults to `['label', 'probabilities']`.
   */
  outputs?: ClassifierOutput[];
}

/**
 * Builds the ONNX model of a softmax regression: MatMul, Add, Softmax for the probabilities and ArgMax for
 * the class index. Outputs are plain tensors (no ZipMap), which onnxruntime-node can return.
 */
export function buildSoftmaxClassifierModel(model: SoftmaxRegression, options: ClassifierModelOptions = {}): Uint8Array {
  const classes = assertNumericMatrix(model.weights, 'model.weights');
  const width = model.weights.length;
  if (!Array.isArray(model.bias) || model.bias.length !== classes) {
    throw new InvalidModelInputError('model.bias', `must have one value per class (${classes})`);
  }
  model.bias.forEach((b, i) => {
    if (!Number.isFinite(b)) throw new InvalidModelInputError(`model.bias[${i}]`, 'must be a finite number');
  });
  const outputs = options.outputs ?? ['label', 'probabilities'];
  if (outputs.length === 0 || new Set(outputs).size !== outputs.length) {
    throw new InvalidModelInputError('options.outputs', 'must list `label` and/or `probabilities`, each once');
  }
  outputs.forEach((o, i) => {
    if (o !== 'label' && o !== 'probabilities') {
      throw new InvalidModelInputError(`options.outputs[${i}]`, 'must be `label` or `probabilities`');
    }
  });
  const input = options.inputName ?? 'input';
  return encodeModel({
    name: 'softmax_regression',
    description: `Softmax regression, ${width} features, ${classes} classes`,
    inputs: [tensorValue(input, 'float', ['N', width])],
    outputs: outputs.map((o) =>
      o === 'label' ? tensorValue('label', 'int64', ['N']) : tensorValue('probabilities', 'float', ['N', classes]),
    ),
    initializers: [floatTensor('weights', [width, classes], model.weights.flat()), floatTensor('bias', [classes], model.bias)],
    nodes: [
      node('MatMul', [input, 'weights'], ['xw']),
      node('Add', ['xw', 'bias'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], { axis: { int: 1 } }),
      node('ArgMax', ['logits'], ['label'], { axis: { int: 1 }, keepdims: { int: 0 } }),
    ],
  });
}
