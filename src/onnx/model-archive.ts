import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import tar from 'tar-stream';
import { InvalidModelInputError } from './errors';

/** One file of a model archive, by its path inside the archive. */
export interface ArchiveFile {
  path: string;
  data: Uint8Array | string;
}

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * Packs files into a `model.tar.gz` as SageMaker expects model data: a gzip-compressed tar whose files
 * are extracted into the model directory (`/opt/ml/model`, `SM_MODEL_DIR`). Paths are relative, use `/`,
 * and never climb out with `..`, so the archive passes the project's own safe-extraction checks.
 */
export async function packModelArchive(files: readonly ArchiveFile[]): Promise<Buffer> {
  if (!Array.isArray(files) || files.length === 0) throw new InvalidModelInputError('files', 'must list at least one file');
  const seen = new Set<string>();
  files.forEach((file, i) => {
    if (typeof file.path !== 'string' || !SAFE_PATH.test(file.path) || file.path.split('/').some((p: string) => p === '..' || p === '.')) {
      throw new InvalidModelInputError(`files[${i}].path`, 'must be a relative path of letters, digits, `.`, `_`, `-` and `/`, without `.` or `..` segments');
    }
    if (seen.has(file.path)) throw new InvalidModelInputError(`files[${i}].path`, `must be unique; ${file.path} appears twice`);
    seen.add(file.path);
  });
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const written = pipeline(pack, createGzip(), sink);
  // A fixed mtime keeps archives byte-identical for identical models, so content-addressed versions hold.
  const mtime = new Date(0);
  for (const file of files) {
    const data = typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : Buffer.from(file.data);
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: file.path, size: data.length, mode: 0o644, mtime }, data, (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  await written;
  return Buffer.concat(chunks);
}

/** Packs one ONNX model as `model.onnx`, the file name the built-in container loads. */
export function packOnnxModel(model: Uint8Array): Promise<Buffer> {
  return packModelArchive([{ path: 'model.onnx', data: model }]);
}
