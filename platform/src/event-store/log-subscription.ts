import type { LogPage, ReadAllOptions, SubscribeOptions, Subscription } from './event-store';

interface LogReader {
  readAll(options: ReadAllOptions): Promise<LogPage>;
}

/**
 * What tells a subscription that the log may have moved: Postgres'
 * LISTEN/NOTIFY (`PgNotifier`), or an EventStoreDB live subscription used as
 * a doorbell. A wake-up is only a hint: positions come from reads alone, so a
 * lost or spurious one costs latency, never an event.
 */
export interface LogWakeups {
  /** Resolves once wake-ups are being received (reconnecting if they were lost). */
  ready(): Promise<void>;
  /** Resolves at the next wake-up after the call. */
  nextWake(): Promise<void>;
}

/**
 * Catch-up then live, on any adapter's `readAll`: reads pages from the
 * checkpoint until a page comes back short, then sleeps until the next
 * wake-up. A safety timer re-reads now and then in case a wake-up was lost.
 */
export class LogSubscription implements Subscription {
  readonly done: Promise<void>;
  private stopped = false;
  private stopWake: (() => void) | undefined;
  private position: number;
  private readFailures = 0;

  constructor(
    private readonly reader: LogReader,
    private readonly notifier: LogWakeups,
    private readonly options: SubscribeOptions,
    private readonly safetyPollMs: number,
  ) {
    this.position = options.fromPosition;
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    await this.notifier.ready();
    while (!this.stopped) {
      const wake = this.notifier.nextWake();
      let page: LogPage;
      try {
        page = await this.reader.readAll({
          fromPosition: this.position,
          maxCount: batchSize,
          filter: this.options.filter,
          withMetadata: this.options.withMetadata,
        });
        this.readFailures = 0;
      } catch {
        // The database is unreachable for now: back off and read again. Only a
        // handler error ends a subscription.
        this.readFailures++;
        await this.pause(Math.min(100 * 2 ** this.readFailures, 5_000));
        continue;
      }
      if (this.stopped) return;
      if (page.events.length > 0 || page.scannedTo > this.position) {
        await this.options.onPage(page);
        this.position = page.scannedTo;
      }
      if (page.events.length >= batchSize) continue;
      await this.pause(this.safetyPollMs, wake);
      // Reconnects after a lost LISTEN connection before the next read.
      await this.notifier.ready().catch(() => undefined);
    }
  }

  private pause(ms: number, wake?: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.stopWake = done;
      void wake?.then(done);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWake?.();
    await this.done.catch(() => undefined);
  }
}
