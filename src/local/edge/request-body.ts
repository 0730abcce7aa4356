/**
 * Reading a request body whole, for the local services whose bodies are small (JSON and query protocols).
 * An oversized body is still read to its end, so the service can answer its own error on a connection
 * that stays usable instead of resetting it mid-upload.
 */
import type { IncomingMessage } from 'node:http';

/** The whole body, or `undefined` when it is longer than `limit` bytes (nothing past the limit is kept). */
export function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
