import onnxProto from 'onnx-proto';
import { ElementType, encodeModel, floatTensor, int64Tensor, node, tensorValue } from './graph';
import { InvalidModelInputError } from './errors';
import { assertNumericVector } from './validation';

const { onnx } = onnxProto;

export interface BallastLinearOptions {
  /** Weights of `y = x · weights + bias`; the input is `[N, weights.length]`. */
  weights: number[];
  bias: number;
  /**
   * Bytes of ballast the model keeps resident once loaded (a float tensor the graph reads, so onnxruntime
   * can neither fold nor drop it). 0 for none. Whole multiples of 4.
   */
  ballastBytes: number;
  /** Seed of the ballast's values; the values are drawn from 16 levels, so the archive still compresses a little. */
  seed?: number;
}

function ballastData(bytes: number, seed: number): Uint8Array {
  const floats = new Float32Array(bytes / 4);
  let state = seed >>> 0 || 1;
  for (let i = 1; i < floats.length; i++) {
    // xorshift32: cheap, deterministic, and far from the long runs gzip would squeeze past the expansion cap.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    floats[i] = ((state >>> 0) & 15) / 16;
  }
  // Element 0 is what the graph adds, so the ballast never changes a prediction.
  floats[0] = 0;
  return new Uint8Array(floats.buffer);
}

/**
 * Builds `y = x · weights + bias` (output `[N, 1]`) with an optional resident ballast: models that differ
 * only by their bias give distinguishable predictions, and their memory footprint is set by `ballastBytes`.
 * Multi-model tests use it to fill an endpoint's memory budget with a known number of models.
 */
export function buildBallastLinearModel(options: BallastLinearOptions): Uint8Array {
  assertNumericVector(options.weights, 'weights');
  assertNumericVector([options.bias], 'bias');
  const { ballastBytes } = options;
  if (!Number.isInteger(ballastBytes) || ballastBytes < 0 || ballastBytes % 4 !== 0) {
    throw new InvalidModelInputError('ballastBytes', 'must be a whole number of bytes, at least 0, divisible by 4');
  }
  const width = options.weights.length;
  const nodes = [node('MatMul', ['x', 'w'], ['xw']), node('Add', ['xw', 'b'], ballastBytes > 0 ? ['linear'] : ['y'])];
  const initializers = [floatTensor('w', [width, 1], options.weights), floatTensor('b', [1], [options.bias])];
  if (ballastBytes > 0) {
    // index = int64(sum(x) * 0) is always 0 but depends on the input, so the ballast survives constant folding.
    nodes.push(
      node('ReduceSum', ['x', 'axis1'], ['rowSum'], { keepdims: { int: 1 } }),
      node('Mul', ['rowSum', 'zero'], ['zeroes']),
      node('Cast', ['zeroes'], ['index'], { to: { int: ElementType.int64 } }),
      node('Gather', ['ballast', 'index'], ['picked']),
      node('Add', ['linear', 'picked'], ['y']),
    );
    initializers.push(
      int64Tensor('axis1', [1], [1]),
      floatTensor('zero', [1], [0]),
      onnx.TensorProto.create({ name: 'ballast', dims: [ballastBytes / 4], dataType: ElementType.float, rawData: ballastData(ballastBytes, options.seed ?? 1) }),
    );
  }
  return encodeModel({
    name: 'ballast_linear',
    description: `y = x · w + ${options.bias}, with ${ballastBytes} bytes of resident ballast`,
    inputs: [tensorValue('x', 'float', ['N', width])],
    outputs: [tensorValue('y', 'float', ['N', 1])],
    nodes,
    initializers,
  });
}
