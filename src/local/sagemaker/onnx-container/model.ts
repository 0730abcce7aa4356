import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ort } from '../../../onnx/runtime';
import {
  ContainerRequestError,
  decodeRequest,
  encodeResponse,
  responseType,
  type InputSpec,
  type TensorType,
} from './codec';

/** The model directory holds no ONNX file the container can load. */
export class ModelFileNotFoundError extends Error {
  override readonly name = 'ModelFileNotFoundError';
  constructor(readonly modelDir: string, detail: string) {
    super(`no ONNX model in ${modelDir}: ${detail}`);
  }
}

/** The output named by the environment is not one of the graph's outputs. */
export class UnknownOutputError extends Error {
  override readonly name = 'UnknownOutputError';
  constructor(readonly output: string, readonly available: readonly string[]) {
    super(`SMHOST_ONNX_OUTPUT names ${JSON.stringify(output)}, the model's outputs are ${available.join(', ')}`);
  }
}

/** Finds `model.onnx`, or else the only `*.onnx` file, at the top of the model directory. */
export async function findModelFile(modelDir: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(modelDir);
  } catch (error) {
    throw new ModelFileNotFoundError(modelDir, `the directory cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  if (names.includes('model.onnx')) return join(modelDir, 'model.onnx');
  const onnxFiles = names.filter((n) => n.endsWith('.onnx'));
  if (onnxFiles.length === 1) return join(modelDir, onnxFiles[0]!);
  if (onnxFiles.length === 0) throw new ModelFileNotFoundError(modelDir, 'expected model.onnx (or a single *.onnx file)');
  throw new ModelFileNotFoundError(modelDir, `several *.onnx files (${onnxFiles.join(', ')}) and no model.onnx to choose`);
}

export interface InvocationResult {
  body: Buffer;
  contentType: string;
}

/** One loaded ONNX graph and how to serve it. */
export class OnnxServingModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: InputSpec[],
    private readonly output: string,
  ) {}

  /**
   * Loads the graph of `modelDir`. `outputName` chooses which output to answer with (default: the first).
   * One intra-op thread: the emulator runs many containers on few cores, and requests run concurrently.
   * `memoryArena: false` (multi-model mode) gives freed tensors back to the allocator at once, so that
   * unloading a model lowers the process's resident memory, which the emulator's budget measures.
   */
  static async load(modelDir: string, outputName?: string, options: { memoryArena?: boolean } = {}): Promise<OnnxServingModel> {
    const file = await findModelFile(modelDir);
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      enableCpuMemArena: options.memoryArena ?? true,
    });
    const inputs: InputSpec[] = session.inputMetadata.map((meta) => {
      if (!meta.isTensor) throw new ModelFileNotFoundError(modelDir, `input ${meta.name} is not a tensor, which the container cannot feed`);
      return { name: meta.name, type: meta.type as TensorType, rank: meta.shape.length };
    });
    const output = outputName && outputName !== '' ? outputName : session.outputNames[0]!;
    if (!session.outputNames.includes(output)) {
      await session.release();
      throw new UnknownOutputError(output, session.outputNames);
    }
    return new OnnxServingModel(session, inputs, output);
  }

  /**
   * Runs one request. Bad input becomes a {@link ContainerRequestError} with the status to answer;
   * anything onnxruntime rejects (wrong width, wrong type) is a 400 with its message.
   */
  async invoke(body: Buffer, contentType: string | undefined, accept: string | undefined): Promise<InvocationResult> {
    const answerType = responseType(accept);
    const decoded = decodeRequest(body, contentType, this.inputs);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of decoded) {
      feeds[name] = new ort.Tensor(tensor.type, tensor.data as ort.Tensor.DataType, tensor.dims);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run(feeds, [this.output]);
    } catch (error) {
      throw new ContainerRequestError(400, `the model rejected the input: ${(error as Error).message}`);
    }
    const out = results[this.output] as ort.Tensor;
    return { body: encodeResponse(out.data as ArrayLike<unknown>, out.dims, answerType), contentType: answerType };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
