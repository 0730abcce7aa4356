import { connect } from 'node:net';

/**
 * Writes `chunks` on one new connection to 127.0.0.1:`port`, 20 ms apart, and resolves with everything read
 * (as latin1) until the server closes the connection or `quietMs` (default 300) pass without a byte.
 * `halfClose` ends the client's side after the last chunk, keeping the connection open for answers.
 */
export function rawExchange(port: number, chunks: Array<string | Buffer>, options: { halfClose?: boolean; quietMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: options.halfClose === true });
    let text = '';
    const quietMs = options.quietMs ?? 300;
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    void (async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20));
        if (!socket.destroyed) socket.write(chunk);
      }
      if (options.halfClose) socket.end();
    })();
  });
}
