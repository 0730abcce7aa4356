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
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readBodyWithin } from '../../edge/request-body';
import { ContainerRequestError } from './codec';
import { LoadedModels } from './loaded-models';
import { OnnxServingModel } from './model';
import { STANDBY_ARG, waitForAssignment } from './standby';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** The whole body; an oversized one is read to its end so the 413 reaches the caller on a usable connection. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const body = await readBodyWithin(req, MAX_BODY_BYTES);
  if (body === undefined) throw new ContainerRequestError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  return body;
}

function answer(res: ServerResponse, status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

type Route = (req: IncomingMessage, res: ServerResponse, path: string) => void;

function failed(res: ServerResponse) {
  return (error: unknown) => {
    const status = error instanceof ContainerRequestError ? error.status : 500;
    answer(res, status, (error as Error).message);
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What batch transform asks a container for when the job leaves these settings out. */
const EXECUTION_PARAMETERS = JSON.stringify({ MaxConcurrentTransforms: 2, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 });

async function singleModel(modelDir: string): Promise<{ route: Route; release: () => Promise<void> }> {
  const model = await OnnxServingModel.load(modelDir, process.env.SMHOST_ONNX_OUTPUT);
  console.log(`onnx container: serving ${modelDir}`);
  const route: Route = (req, res, path) => {
    if (req.method === 'POST' && path === '/invocations') {
      readBody(req)
        .then((body) => model.invoke(body, header(req, 'content-type'), header(req, 'accept')))
        .then((result) => answer(res, 200, result.body, result.contentType))
        .catch(failed(res));
      return;
    }
    if (req.method === 'GET' && path === '/execution-parameters') return answer(res, 200, EXECUTION_PARAMETERS, 'application/json');
    answer(res, 404, `no route for ${req.method} ${path}; the container serves GET /ping, POST /invocations and GET /execution-parameters`);
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
  const route: Route = (req, res, path) => {
    if (path === '/models') {
      if (req.method === 'POST') {
        readBody(req)
          .then(async (body) => {
            let request: { model_name?: unknown; url?: unknown };
            try {
              request = JSON.parse(body.toString('utf8')) as typeof request;
            } catch {
              throw new ContainerRequestError(400, 'POST /models takes a JSON body {"model_name": ..., "url": ...}');
            }
            if (typeof request?.model_name !== 'string' || request.model_name === '' || typeof request.url !== 'string' || request.url === '') {
              throw new ContainerRequestError(400, 'POST /models needs "model_name" and "url", both non-empty strings');
            }
            const started = performance.now();
            await models.load(request.model_name, request.url);
            const target = header(req, 'x-amzn-sagemaker-target-model') ?? request.model_name;
            console.log(`onnx container: loaded ${target} as ${request.model_name} in ${(performance.now() - started).toFixed(1)} ms`);
            answer(res, 200, JSON.stringify({ status: `Model ${request.model_name} loaded` }), 'application/json');
          })
          .catch(failed(res));
        return;
      }
      if (req.method === 'GET') {
        const query = new URL(req.url ?? '/', 'http://container').searchParams;
        try {
          const limitText = query.get('limit');
          const limit = limitText === null ? undefined : Number(limitText);
          if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new ContainerRequestError(400, `limit must be a whole number above 0, got ${JSON.stringify(limitText)}`);
          answer(res, 200, JSON.stringify(models.list(query.get('next_page_token') ?? undefined, limit)), 'application/json');
        } catch (error) {
          failed(res)(error);
        }
        return;
      }
    }
    const match = /^\/models\/([^/]+)(\/invoke)?$/.exec(path);
    if (match) {
      const name = decodeURIComponent(match[1]!);
      if (match[2] && req.method === 'POST') {
        readBody(req)
          .then((body) => models.invoke(name, body, header(req, 'content-type'), header(req, 'accept')))
          .then((result) => answer(res, 200, result.body, result.contentType))
          .catch(failed(res));
        return;
      }
      if (!match[2] && req.method === 'GET') {
        try {
          return answer(res, 200, JSON.stringify(models.get(name)), 'application/json');
        } catch (error) {
          return failed(res)(error);
        }
      }
      if (!match[2] && req.method === 'DELETE') {
        models
          .unload(name)
          .then(() => {
            console.log(`onnx container: unloaded ${name}`);
            answer(res, 200, JSON.stringify({ status: `Model ${name} unloaded` }), 'application/json');
          })
          .catch(failed(res));
        return;
      }
    }
    answer(
      res,
      404,
      `no route for ${req.method} ${path}; in multi-model mode the container serves GET /ping, POST /models, GET /models, GET|DELETE /models/<name> and POST /models/<name>/invoke`,
    );
  };
  return { route, release: () => models.releaseAll() };
}

async function main(): Promise<void> {
  const portText = process.env.SAGEMAKER_BIND_TO_PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`SAGEMAKER_BIND_TO_PORT must be a port number (1-65535), got ${JSON.stringify(portText)}`);
  }
  const multi = (process.env.SAGEMAKER_MULTI_MODEL ?? '').toLowerCase() === 'true';
  const serving = multi ? multiModel() : await singleModel(process.env.SM_MODEL_DIR ?? '/opt/ml/model');

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/ping') return answer(res, 200, '');
    serving.route(req, res, path);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    void serving.release().finally(() => process.exit(0));
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
