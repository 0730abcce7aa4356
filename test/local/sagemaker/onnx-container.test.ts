import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerProcess, ContainerStartError } from '../../../src/local/sagemaker';
import {
  ContainerRequestError,
  decodeRequest,
  encodeResponse,
  responseType,
  tensorRows,
  type InputSpec,
} from '../../../src/local/sagemaker/onnx-container/codec';
import { irisModels } from './support';

const FLOAT_2D: InputSpec[] = [{ name: 'input', type: 'float32', rank: 2 }];
const INT_1D: InputSpec[] = [{ name: 'label', type: 'int64', rank: 1 }];

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContainerRequestError) return error.status;
    throw error;
  }
  return undefined;
}

describe('Function: decodeRequest', () => {
  it('reads instances, inputs, predictions and bare arrays of rows alike', () => {
    // Prepare
    const rows = [
      [1, 2],
      [3, 4],
    ];

    // Act
    const shapes = [{ instances: rows }, { inputs: rows }, { predictions: rows }, rows].map(
      (body) => decodeRequest(Buffer.from(JSON.stringify(body)), 'application/json', FLOAT_2D).get('input')!,
    );

    // Assess
    for (const t of shapes) {
      expect(t.dims).toEqual([2, 2]);
      expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4]);
    }
  });

  it('reads CSV one row per line, and scalars for a rank-1 input as int64', () => {
    // Act
    const floats = decodeRequest(Buffer.from('1,2\r\n3,4\n'), 'text/csv; charset=utf-8', FLOAT_2D).get('input')!;
    const labels = decodeRequest(Buffer.from('2\n0\n'), 'text/csv', INT_1D).get('label')!;
    const jsonLabels = decodeRequest(Buffer.from('{"predictions":[[1],[2]]}'), 'application/json', INT_1D).get('label')!;

    // Assess
    expect(floats.dims).toEqual([2, 2]);
    expect(labels.dims).toEqual([2]);
    expect(Array.from(labels.data as BigInt64Array)).toEqual([2n, 0n]);
    expect(Array.from(jsonLabels.data as BigInt64Array)).toEqual([1n, 2n]);
  });

  it('feeds several inputs by name', () => {
    // Act
    const tensors = decodeRequest(Buffer.from('{"inputs":{"a":[[1]],"b":["x"]}}'), 'application/json', [
      { name: 'a', type: 'float32', rank: 2 },
      { name: 'b', type: 'string', rank: 1 },
    ]);

    // Assess
    expect(tensors.get('b')!.data).toEqual(['x']);
  });

  it('decodes rows of plain numbers straight into the typed array, and words the errors of other rows as before', () => {
    // Prepare
    const body = (rows: unknown) => Buffer.from(JSON.stringify({ instances: rows }));
    const spec = (type: InputSpec['type'], rank = 2): InputSpec[] => [{ name: 'input', type, rank }];

    // Act
    const f32 = decodeRequest(body([[1.5, -2], [3, 4e-3]]), 'application/json', spec('float32')).get('input')!;
    const f64 = decodeRequest(body([[0.1, 0.2]]), 'application/json', spec('float64', 0)).get('input')!;
    const i32 = decodeRequest(body([[1, 2], [3, -4]]), 'application/json', spec('int32')).get('input')!;
    const mixed = decodeRequest(body([[1, '2']]), 'application/json', spec('float32')).get('input')!;

    // Assess
    expect([f32.data, f32.dims]).toEqual([Float32Array.from([1.5, -2, 3, 4e-3]), [2, 2]]);
    expect([f64.data, f64.dims]).toEqual([Float64Array.from([0.1, 0.2]), [1, 2]]);
    expect([i32.data, i32.dims]).toEqual([Int32Array.from([1, 2, 3, -4]), [2, 2]]);
    expect(mixed.data).toEqual(Float32Array.from([1, 2]));
    expect(() => decodeRequest(body([[1.5]]), 'application/json', spec('int32'))).toThrow(/row 0\[0\] must be an integer for a int32 input, got 1.5/);
    expect(() => decodeRequest(body([[1, 2], [3]]), 'application/json', spec('float32'))).toThrow(/row 1 has shape \[1\], row 0 has \[2\]/);
    expect(() => decodeRequest(body([[[1]]]), 'application/json', spec('float32'))).toThrow(/has rank 2, the rows make a tensor of shape \[1, 1, 1\]/);
  });

  it('refuses bad bodies with 400, unknown content types with 415, naming the problem', () => {
    expect(statusOf(() => decodeRequest(Buffer.from('{'), 'application/json', FLOAT_2D))).toBe(400);
    expect(statusOf(() => decodeRequest(Buffer.from('{"rows":[]}'), 'application/json', FLOAT_2D))).toBe(400);
    expect(statusOf(() => decodeRequest(Buffer.from('1,2'), 'application/x-npy', FLOAT_2D))).toBe(415);
    expect(() => decodeRequest(Buffer.from('[[1,2],[3]]'), 'application/json', FLOAT_2D)).toThrow(/row 1 has shape \[1\], row 0 has \[2\]/);
    expect(() => decodeRequest(Buffer.from('[[1,"x"]]'), 'application/json', FLOAT_2D)).toThrow(/row 0\[1\] must be a number, got "x"/);
    expect(() => decodeRequest(Buffer.from('[1.5]'), 'application/json', INT_1D)).toThrow(/must be an integer for a int64 input/);
    expect(() => decodeRequest(Buffer.from('[1, 2]'), 'application/json', FLOAT_2D)).toThrow(/has rank 2, the rows make a tensor of shape \[2\]/);
    expect(() => decodeRequest(Buffer.from(''), 'text/csv', FLOAT_2D)).toThrow(/no rows/);
    expect(() => decodeRequest(Buffer.from('{"inputs":{"c":[1]}}'), 'application/json', FLOAT_2D)).toThrow(/names "c", which is not an input/);
  });
});

describe('Function: encodeResponse', () => {
  it('writes predictions as JSON rows and CSV lines, int64 as numbers and strings quoted when needed', () => {
    // Act
    const json = encodeResponse(BigInt64Array.from([1n, 2n]), [2], 'application/json').toString();
    const csv = encodeResponse(Float32Array.from([1, 2, 3, 4]), [2, 2], 'text/csv').toString();
    const strings = encodeResponse(['a,b', 'c'], [2], 'text/csv').toString();

    // Assess
    expect(json).toBe('{"predictions":[1,2]}');
    expect(csv).toBe('1,2\n3,4\n');
    expect(strings).toBe('"a,b"\nc\n');
    expect(tensorRows([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])).toEqual([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
  });

  it('writes numeric tensors of rank 1 and 2 as JSON exactly as the rows would stringify, non-finite numbers as strings', () => {
    // Prepare
    const cases: Array<[Float32Array | Float64Array | Int32Array, number[]]> = [
      [Float32Array.from([0.1, -0, 1e21, 3.4e-7, Number.NaN, Number.POSITIVE_INFINITY]), [2, 3]],
      [Float64Array.from([0.1, 2 / 3, Number.NEGATIVE_INFINITY]), [3]],
      [Int32Array.from([7, -8, 9, 10]), [4, 1]],
      [new Int32Array(0), [2, 0]],
      [new Float32Array(0), [0]],
    ];

    // Act
    const written = cases.map(([data, dims]) => encodeResponse(data, dims, 'application/json').toString());

    // Assess
    written.forEach((text, i) => {
      const [data, dims] = cases[i]!;
      const rows = tensorRows(data, dims).map(function cell(v: unknown): unknown {
        return Array.isArray(v) ? v.map(cell) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
      });
      expect(text).toBe(JSON.stringify({ predictions: rows }));
    });
    expect(written[0]).toBe('{"predictions":[[0.10000000149011612,0,1.0000000200408773e+21],[3.400000139208714e-7,"NaN","Infinity"]]}');
  });

  it('chooses the answer type from Accept, refusing what it cannot write with 406', () => {
    expect(responseType(undefined)).toBe('application/json');
    expect(responseType('*/*')).toBe('application/json');
    expect(responseType('text/csv')).toBe('text/csv');
    expect(responseType('application/x-npy, text/csv;q=0.5')).toBe('text/csv');
    expect(statusOf(() => responseType('application/x-npy'))).toBe(406);
  });
});

describe('Function: ContainerProcess (built-in ONNX container)', () => {
  let dir: string;
  let container: ContainerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onnx-container-'));
    writeFileSync(join(dir, 'model.onnx'), (await irisModels()).classifier);
    container = await ContainerProcess.start({
      label: 'test/AllTraffic/primary',
      target: { kind: 'builtin', server: 'onnx', environment: {} },
      modelDir: dir,
      environment: { SMHOST_ONNX_OUTPUT: 'probabilities' },
      multiModel: false,
      logFile: join(dir, 'logs', 'container.log'),
    });
    await container.waitHealthy(30_000);
  });

  afterAll(async () => {
    await container?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /ping, and /invocations with the output chosen by SMHOST_ONNX_OUTPUT', async () => {
    // Act
    const ping = await container.request('GET', '/ping', {}, undefined, 5000);
    const answer = await container.request('POST', '/invocations', { 'content-type': 'application/json' }, Buffer.from('{"instances":[[0,0,0,0]]}'), 5000);

    // Assess
    expect(ping.status).toBe(200);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    const row = (JSON.parse(answer.body.toString()) as { predictions: number[][] }).predictions[0]!;
    expect(row).toHaveLength(3);
  });

  it('answers 400 for a row of the wrong width, 415 and 406 for unsupported types, 404 for other paths', async () => {
    // Act
    const width = await container.request('POST', '/invocations', { 'content-type': 'application/json' }, Buffer.from('[[1,2]]'), 5000);
    const type = await container.request('POST', '/invocations', { 'content-type': 'image/png' }, Buffer.from('x'), 5000);
    const accept = await container.request('POST', '/invocations', { 'content-type': 'text/csv', accept: 'image/png' }, Buffer.from('1,2,3,4'), 5000);
    const other = await container.request('GET', '/models', {}, undefined, 5000);

    // Assess
    expect(width.status).toBe(400);
    expect(width.body.toString()).toMatch(/the model rejected the input/);
    expect(type.status).toBe(415);
    expect(accept.status).toBe(406);
    expect(other.status).toBe(404);
  });

  it('answers 413 for a body over 100 MB, on a connection that still serves', async () => {
    // Prepare
    const body = Buffer.alloc(100 * 1024 * 1024 + 1, 0x20);

    // Act
    const over = await container.request('POST', '/invocations', { 'content-type': 'text/csv' }, body, 20_000);
    const next = await container.request('GET', '/ping', {}, undefined, 5000);

    // Assess
    expect(over.status).toBe(413);
    expect(over.body.toString()).toContain('request body over 104857600 bytes');
    expect(next.status).toBe(200);
  });

  it('exits with a clear message when the output named by SMHOST_ONNX_OUTPUT does not exist', async () => {
    // Prepare
    const bad = await ContainerProcess.start({
      label: 'test/AllTraffic/bad',
      target: { kind: 'builtin', server: 'onnx', environment: {} },
      modelDir: dir,
      environment: { SMHOST_ONNX_OUTPUT: 'logits' },
      multiModel: false,
      logFile: join(dir, 'logs', 'bad.log'),
    });

    // Act
    const error = await bad.waitHealthy(30_000).catch((e: unknown) => e);
    await bad.stop();

    // Assess
    expect(error).toBeInstanceOf(ContainerStartError);
    expect((error as Error).message).toMatch(/exited with code 1: onnx container: SMHOST_ONNX_OUTPUT names "logits", the model's outputs are label, probabilities/);
  });
});
