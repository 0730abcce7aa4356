/** Thrown by {@link sleep} when its signal aborts the wait. */
export class SleepAbortedError extends Error {
  constructor() {
    super('the wait was cancelled: the execution stopped');
    this.name = 'SleepAbortedError';
  }
}

/** Waits `ms` milliseconds, or rejects with {@link SleepAbortedError} as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SleepAbortedError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SleepAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
