/**
 * The built-in container's side of the multi-model contract: the models it holds in memory, keyed by the
 * opaque `model_name` SageMaker (here, the emulator) gives them. Loading refuses a name already loaded (409)
 * and a load that would leave the process over its memory limit (507), as the contract asks, so the caller
 * can unload other models and try again.
 */
import { ContainerRequestError } from './codec';
import { OnnxServingModel, type InvocationResult } from './model';

export interface LoadedModelInfo {
  modelName: string;
  modelUrl: string;
}

interface Entry extends LoadedModelInfo {
  /** Settles once the session exists; a name being loaded counts as loaded for a second load (409). */
  ready: Promise<OnnxServingModel>;
}

export interface LoadedModelsOptions {
  /** Output to answer with (`SMHOST_ONNX_OUTPUT`). */
  outputName: string | undefined;
  /** Resident bytes the process may hold after a load; over it the load is undone and answered 507. */
  memoryLimitBytes: number | undefined;
  /** Resident memory of this process now, in bytes. */
  residentBytes: () => number;
}

const PAGE_SIZE = 100;

export class LoadedModels {
  private readonly models = new Map<string, Entry>();

  constructor(private readonly options: LoadedModelsOptions) {}

  /**
   * Loads the model in `url` (a local folder) under `name`.
   *
   * @throws {ContainerRequestError} 409 when the name is taken, 507 when over the memory limit, 404 when the
   *   folder holds no model, 500 when onnxruntime cannot load it.
   */
  async load(name: string, url: string): Promise<void> {
    if (this.models.has(name)) throw new ContainerRequestError(409, `model ${JSON.stringify(name)} is already loaded`);
    const limit = this.options.memoryLimitBytes;
    if (limit !== undefined && this.options.residentBytes() > limit) {
      throw new ContainerRequestError(507, `resident memory ${this.options.residentBytes()} bytes is already over the limit of ${limit} bytes`);
    }
    const ready = OnnxServingModel.load(url, this.options.outputName, { memoryArena: false });
    const entry: Entry = { modelName: name, modelUrl: url, ready };
    this.models.set(name, entry);
    let model: OnnxServingModel;
    try {
      model = await ready;
    } catch (error) {
      this.models.delete(name);
      const message = (error as Error).message;
      if (/no ONNX model/.test(message)) throw new ContainerRequestError(404, message);
      throw new ContainerRequestError(500, `model ${JSON.stringify(name)} could not be loaded: ${message}`);
    }
    if (limit !== undefined && this.options.residentBytes() > limit) {
      this.models.delete(name);
      await model.release();
      throw new ContainerRequestError(507, `loading model ${JSON.stringify(name)} took resident memory over the limit of ${limit} bytes`);
    }
  }

  /** One page of the loaded models, and the token of the next page when there is one. */
  list(pageToken: string | undefined, limit = PAGE_SIZE): { models: LoadedModelInfo[]; nextPageToken?: string } {
    const all = [...this.models.values()].map(({ modelName, modelUrl }) => ({ modelName, modelUrl }));
    const start = pageToken === undefined ? 0 : Number(pageToken);
    if (!Number.isInteger(start) || start < 0) throw new ContainerRequestError(400, `next_page_token ${JSON.stringify(pageToken)} is not a token this container gave`);
    const page = all.slice(start, start + limit);
    return start + limit < all.length ? { models: page, nextPageToken: String(start + limit) } : { models: page };
  }

  get(name: string): LoadedModelInfo {
    const entry = this.models.get(name);
    if (!entry) throw new ContainerRequestError(404, `model ${JSON.stringify(name)} is not loaded`);
    return { modelName: entry.modelName, modelUrl: entry.modelUrl };
  }

  /** Unloads `name`, releasing its session; 404 when it is not loaded. */
  async unload(name: string): Promise<void> {
    const entry = this.models.get(name);
    if (!entry) throw new ContainerRequestError(404, `model ${JSON.stringify(name)} is not loaded`);
    this.models.delete(name);
    const model = await entry.ready.catch(() => undefined);
    await model?.release();
  }

  async invoke(name: string, body: Buffer, contentType: string | undefined, accept: string | undefined): Promise<InvocationResult> {
    const entry = this.models.get(name);
    if (!entry) throw new ContainerRequestError(404, `model ${JSON.stringify(name)} is not loaded`);
    return (await entry.ready).invoke(body, contentType, accept);
  }

  async releaseAll(): Promise<void> {
    const entries = [...this.models.values()];
    this.models.clear();
    await Promise.all(entries.map(async (e) => (await e.ready.catch(() => undefined))?.release()));
  }
}
