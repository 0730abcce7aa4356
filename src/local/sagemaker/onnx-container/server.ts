/**
 * The built-in ONNX container: a process that speaks the SageMaker container contract (`GET /ping`,
 * `POST /invocations`, `GET /execution-parameters` for batch transform) over the model in `SM_MODEL_DIR`,
 * on the port in `SAGEMAKER_BIND_TO_PORT`. With `SAGEMAKER_MULTI_MODEL=true` it speaks the multi-model
 * contract instead: `POST /models` (load), `GET /models`, `GET /models/<name>`, `DELETE /models/<name>`,
 * `POST /models/<name>/invoke`.
 * The emulator starts it for the image URIs the image map sends here; it runs just as well by hand:
 * `SM_MODEL_DIR=./model SAGEMAKER_BIND_TO_PORT=8080 npx tsx src/local/sagemaker/onnx-container/server.ts`.
 *
 * Environment: `SMHOST_ONNX_OUTPUT` picks the output to answer with (default: the graph's first);
 * `SMHOST_CONTAINER_MEMORY_LIMIT_BYTES` (multi-model) is the resident memory past which a load answers 507.
 * HTTP is served by `../../http1/socket-server.ts`.
 */
import { Http1ListenError, serveHttp1, type Http1Answer, type Http1Request } from '../../http1/socket-server';
import { ContainerRequestError } from './codec';
import { LoadedModels } from './loaded-models';
import { OnnxServingModel } from './model';
import { STANDBY_ARG, waitForAssignment } from './standby';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

type Route = (req: Http1Request) => Http1Answer | Promise<Http1Answer>;

function failed(error: unknown): Http1Answer {
  const status = error instanceof ContainerRequestError ? error.status : 500;
  return { status, body: (error as Error).message };
}

function json(value: unknown): Http1Answer {
  return { status: 200, body: JSON.stringify(value), contentType: 'application/json' };
}

/** What batch transform asks a container for when the job leaves these settings out. */
const EXECUTION_PARAMETERS = JSON.stringify({ MaxConcurrentTransforms: 2, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 });

async function singleModel(modelDir: string): Promise<{ route: Route; release: () => Promise<void> }> {
  const model = await OnnxServingModel.load(modelDir, process.env.SMHOST_ONNX_OUTPUT);
  console.log(`onnx container: serving ${modelDir}`);
  const route: Route = (req) => {
    if (req.method === 'POST' && req.path === '/invocations') {
      return model.invoke(req.body, req.headers['content-type'], req.headers.accept).then(
        (result): Http1Answer => ({ status: 200, body: result.body, contentType: result.contentType }),
        failed,
      );
    }
    if (req.method === 'GET' && req.path === '/execution-parameters') return { status: 200, body: EXECUTION_PARAMETERS, contentType: 'application/json' };
    return {
      status: 404,
      body: `no route for ${req.method} ${req.path}; the container serves GET /ping, POST /invocations and GET /execution-parameters`,
    };
  };
  return { route, release: () => model.release() };
}

function optionalBytes(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a whole number of bytes above 0, got ${JSON.stringify(text)}`);
  return value;
}

function multiModel(): { route: Route; release: () => Promise<void> } {
  const models = new LoadedModels({
    outputName: process.env.SMHOST_ONNX_OUTPUT,
    memoryLimitBytes: optionalBytes('SMHOST_CONTAINER_MEMORY_LIMIT_BYTES'),
    residentBytes: () => process.memoryUsage.rss(),
  });
  console.log('onnx container: multi-model mode, no model loaded yet');
  const load = async (req: Http1Request): Promise<Http1Answer> => {
    let request: { model_name?: unknown; url?: unknown };
    try {
      request = JSON.parse(req.body.toString('utf8')) as typeof request;
    } catch {
      throw new ContainerRequestError(400, 'POST /models takes a JSON body {"model_name": ..., "url": ...}');
    }
    if (typeof request?.model_name !== 'string' || request.model_name === '' || typeof request.url !== 'string' || request.url === '') {
      throw new ContainerRequestError(400, 'POST /models needs "model_name" and "url", both non-empty strings');
    }
    const started = performance.now();
    await models.load(request.model_name, request.url);
    const target = req.headers['x-amzn-sagemaker-target-model'] ?? request.model_name;
    console.log(`onnx container: loaded ${target} as ${request.model_name} in ${(performance.now() - started).toFixed(1)} ms`);
    return json({ status: `Model ${request.model_name} loaded` });
  };
  const route: Route = (req) => {
    const path = req.path;
    if (path === '/models') {
      if (req.method === 'POST') return load(req).catch(failed);
      if (req.method === 'GET') {
        const query = new URLSearchParams(req.query);
        try {
          const limitText = query.get('limit');
          const limit = limitText === null ? undefined : Number(limitText);
          if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new ContainerRequestError(400, `limit must be a whole number above 0, got ${JSON.stringify(limitText)}`);
          return json(models.list(query.get('next_page_token') ?? undefined, limit));
        } catch (error) {
          return failed(error);
        }
      }
    }
    const match = /^\/models\/([^/]+)(\/invoke)?$/.exec(path);
    if (match) {
      let name: string;
      try {
        name = decodeURIComponent(match[1]!);
      } catch {
        return { status: 400, body: `the model name in ${path} is not valid percent-encoding` };
      }
      if (match[2] && req.method === 'POST') {
        return models.invoke(name, req.body, req.headers['content-type'], req.headers.accept).then(
          (result): Http1Answer => ({ status: 200, body: result.body, contentType: result.contentType }),
          failed,
        );
      }
      if (!match[2] && req.method === 'GET') {
        try {
          return json(models.get(name));
        } catch (error) {
          return failed(error);
        }
      }
      if (!match[2] && req.method === 'DELETE') {
        return models.unload(name).then(() => {
          console.log(`onnx container: unloaded ${name}`);
          return json({ status: `Model ${name} unloaded` });
        }, failed);
      }
    }
    return {
      status: 404,
      body: `no route for ${req.method} ${path}; in multi-model mode the container serves GET /ping, POST /models, GET /models, GET|DELETE /models/<name> and POST /models/<name>/invoke`,
    };
  };
  return { route, release: () => models.releaseAll() };
}

const PONG: Http1Answer = { status: 200, body: '' };

async function main(): Promise<void> {
  const portText = process.env.SAGEMAKER_BIND_TO_PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`SAGEMAKER_BIND_TO_PORT must be a port number (1-65535), got ${JSON.stringify(portText)}`);
  }
  const multi = (process.env.SAGEMAKER_MULTI_MODEL ?? '').toLowerCase() === 'true';
  const serving = multi ? multiModel() : await singleModel(process.env.SM_MODEL_DIR ?? '/opt/ml/model');

  const server = await serveHttp1((req) => (req.path === '/ping' && req.method === 'GET' ? PONG : serving.route(req)), {
    port,
    maxBodyBytes: MAX_BODY_BYTES,
  }).catch((error: unknown) => {
    throw error instanceof Http1ListenError ? new Error(`${error.message} (SAGEMAKER_BIND_TO_PORT)`) : error;
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server
      .close()
      .then(() => serving.release())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // If the emulator dies without stopping its containers, they must not linger holding ports and memory.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000).unref();
  console.log(`onnx container: listening on 127.0.0.1:${port}`);
}

const started = process.argv.includes(STANDBY_ARG) ? waitForAssignment().then(main) : main();
started.catch((error: unknown) => {
  console.error(`onnx container: ${(error as Error).message}`);
  process.exit(1);
});
