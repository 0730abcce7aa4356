/**
 * The reference the demo checks the endpoints against: the same ONNX graphs run directly in onnxruntime,
 * in this process, on the same rows.
 */
import { ort } from '../onnx/runtime';

async function runFirstOutput(model: Uint8Array, input: ort.Tensor): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model);
  try {
    const outputs = await session.run({ [session.inputNames[0]!]: input });
    return outputs[session.outputNames[0]!]!;
  } finally {
    await session.release();
  }
}

function floatRows(rows: readonly (readonly number[])[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

/** The class index a classifier graph gives each row (its first output, `label`). */
export async function predictDirect(model: Uint8Array, rows: readonly (readonly number[])[]): Promise<number[]> {
  const labels = await runFirstOutput(model, floatRows(rows));
  return Array.from(labels.data as BigInt64Array, (value) => Number(value));
}

/** Runs graphs one after another, each one's first output feeding the next: a serial pipeline, directly. */
export async function runChainDirect(models: readonly Uint8Array[], rows: readonly (readonly number[])[]): Promise<string[]> {
  let tensor = floatRows(rows);
  for (const model of models) tensor = await runFirstOutput(model, tensor);
  return Array.from(tensor.data as ArrayLike<unknown>, (value) => String(value));
}

export function accuracy<T>(predicted: readonly T[], expected: readonly T[]): number {
  return predicted.filter((value, i) => value === expected[i]).length / expected.length;
}
