/**
 * The wait for an instance to be provisioned before its containers start, which an endpoint deletion, a
 * job stop or the emulator's close cuts short.
 */

/**
 * Resolves after `ms`, or rejects with `cancelled()` as soon as `signal` is aborted (at once when it
 * already is), so each caller keeps its own error for a cancellation.
 */
export function abortableDelay(ms: number, signal: AbortSignal, cancelled: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
