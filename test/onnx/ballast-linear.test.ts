import { describe, expect, it } from 'vitest';
import { ort } from '../../src/onnx/runtime';
import { buildBallastLinearModel, InvalidModelInputError } from '../../src/onnx';

describe('Function: buildBallastLinearModel', () => {
  it('computes x · w + bias whatever the ballast, and the ballast sets the model size', async () => {
    // Prepare
    const plain = buildBallastLinearModel({ weights: [1, 2], bias: 7, ballastBytes: 0 });
    const heavy = buildBallastLinearModel({ weights: [1, 2], bias: 7, ballastBytes: 1024 * 1024, seed: 3 });
    const feed = { x: new ort.Tensor('float32', Float32Array.from([1, 1, 2, 3]), [2, 2]) };

    // Act
    const outputs = await Promise.all(
      [plain, heavy].map(async (bytes) => {
        const session = await ort.InferenceSession.create(bytes);
        try {
          return Array.from((await session.run(feed)).y!.data as Float32Array);
        } finally {
          await session.release();
        }
      }),
    );

    // Assess
    expect(outputs).toEqual([
      [10, 15],
      [10, 15],
    ]);
    expect(heavy.length - plain.length).toBeGreaterThan(1024 * 1024);
  });

  it('refuses a ballast that is not a whole number of floats, and empty weights, naming the input', () => {
    expect(() => buildBallastLinearModel({ weights: [1], bias: 0, ballastBytes: 3 })).toThrow(InvalidModelInputError);
    expect(() => buildBallastLinearModel({ weights: [1], bias: 0, ballastBytes: 3 })).toThrow(/^ballastBytes: must be a whole number/);
    expect(() => buildBallastLinearModel({ weights: [], bias: 0, ballastBytes: 0 })).toThrow(/^weights: must be a non-empty array/);
    expect(() => buildBallastLinearModel({ weights: [1], bias: Number.NaN, ballastBytes: 0 })).toThrow(/^bias\[0\]: must be a finite number/);
  });
});
