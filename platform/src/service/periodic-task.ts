import type { Logger } from 'pino';
import type { HostedPart } from './service-host';

/**
 * Runs `task` now and then every `intervalMs` after the previous run ended
 * (never two runs at once), as a part of the service host: `stop()` waits
 * for the run under way. A failed run is logged and the next one comes on
 * schedule, so a database blip does not stop the loop.
 */
export class PeriodicTask implements HostedPart {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    readonly name: string,
    private readonly task: () => Promise<unknown>,
    private readonly options: { intervalMs: number; logger?: Logger },
  ) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.task()
        .then(() => undefined)
        .catch((err: unknown) => this.options.logger?.warn({ err, task: this.name }, `${this.name} failed; next run on schedule`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
