// A wait that ends early when the run is aborted (Ctrl-C): the sweep, the soak and the floor trials
// all wait this way, and the abort listener goes with the wait so none accumulate.
export const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
