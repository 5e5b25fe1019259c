/**
 * A job run every `everyMs` on an unref'd timer, never two runs at once (a
 * tick that finds the last run still going skips), its failures handed to
 * `onError` and tried again at the next tick. `stop()` clears the timer and
 * waits for a run in progress. The scheduled housekeeping of the platform
 * (idempotency record expiry, the embedded bus's retention) runs on it.
 */
export interface PeriodicTask<T> {
  name: string;
  start(): void;
  stop(): Promise<void>;
  /** Runs now, or joins the run in progress. */
  runNow(): Promise<T>;
}

export function periodicTask<T>(name: string, everyMs: number, run: () => Promise<T>, hooks: { onDone?(value: T): void; onError?(err: unknown): void } = {}): PeriodicTask<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  const runNow = (): Promise<T> => (running ??= run().finally(() => (running = undefined)));
  return {
    name,
    runNow,
    start() {
      timer ??= setInterval(() => {
        runNow().then(
          (value) => hooks.onDone?.(value),
          (err: unknown) => hooks.onError?.(err),
        );
      }, everyMs).unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
