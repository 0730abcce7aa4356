/**
 * The built-in ONNX container: a process that speaks the SageMaker container contract (`GET /ping`,
 * `POST /invocations`) over the model in `SM_MODEL_DIR`, on the port in `SAGEMAKER_BIND_TO_PORT`.
 * The emulator starts it for the image URIs the image map sends here; it runs just as well by hand:
 * `SM_MODEL_DIR=./model SAGEMAKER_BIND_TO_PORT=8080 npx tsx src/local/sagemaker/onnx-container/server.ts`.
 *
 * Environment: `SMHOST_ONNX_OUTPUT` picks the output to answer with (default: the graph's first).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ContainerRequestError } from './codec';
import { OnnxServingModel } from './model';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ContainerRequestError(413, `request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function main(): Promise<void> {
  const portText = process.env.SAGEMAKER_BIND_TO_PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`SAGEMAKER_BIND_TO_PORT must be a port number (1-65535), got ${JSON.stringify(portText)}`);
  }
  if ((process.env.SAGEMAKER_MULTI_MODEL ?? '').toLowerCase() === 'true') {
    throw new Error('SAGEMAKER_MULTI_MODEL=true: the built-in ONNX container serves single models only in this version');
  }
  const modelDir = process.env.SM_MODEL_DIR ?? '/opt/ml/model';
  const model = await OnnxServingModel.load(modelDir, process.env.SMHOST_ONNX_OUTPUT);

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/ping') return answer(res, 200, '');
    if (req.method === 'POST' && path === '/invocations') {
      readBody(req)
        .then((body) => model.invoke(body, req.headers['content-type'], req.headers.accept))
        .then((result) => answer(res, 200, result.body, result.contentType))
        .catch((error: unknown) => {
          const status = error instanceof ContainerRequestError ? error.status : 500;
          answer(res, status, (error as Error).message);
        });
      return;
    }
    answer(res, 404, `no route for ${req.method} ${path}; the container serves GET /ping and POST /invocations`);
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
    void model.release().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // If the emulator dies without stopping its containers, they must not linger holding ports and memory.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000).unref();
  console.log(`onnx container: serving ${modelDir} on 127.0.0.1:${port}`);
}

main().catch((error: unknown) => {
  console.error(`onnx container: ${(error as Error).message}`);
  process.exit(1);
});
