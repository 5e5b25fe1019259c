import type { Logger } from 'pino';
import { onShutdownSignal } from '../embedded-postgres/signals';
import type { ReadinessCheck } from './health';

interface Hook {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * Ordered shutdown for a service's main.ts. Hooks run in reverse order of
 * registration, like closing resources in reverse order of opening them: a
 * main that opens pools, then starts the HTTP server, then starts consumers,
 * stops consumers first (no new work), then drains HTTP, then closes pools
 * (which in-flight work still needed).
 */
export class Lifecycle {
  private readonly hooks: Hook[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: { logger?: Logger; hookTimeoutMs?: number } = {}) {}

  onShutdown(name: string, run: () => Promise<void> | void): void {
    if (this.stopping) throw new Error(`cannot register shutdown hook "${name}": already shutting down`);
    this.hooks.push({ name, run });
  }

  get isShuttingDown(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * Runs the hooks once; later calls return the same promise. A failing or
   * hanging hook is logged and skipped, so the pools still get closed.
   */
  shutdown(reason = 'requested'): Promise<void> {
    this.stopping ??= this.runHooks(reason);
    return this.stopping;
  }

  /** On SIGINT/SIGTERM: shut down, then exit 130/143. Returns a function that detaches the handlers. */
  handleSignals(): () => void {
    return onShutdownSignal((signal) => this.shutdown(signal));
  }

  /** Fails once shutdown has begun, so the orchestrator stops routing traffic here while it drains. */
  readiness(): ReadinessCheck {
    return {
      name: 'lifecycle',
      check: async () => {
        if (this.stopping) throw new Error('shutting down');
      },
    };
  }

  private async runHooks(reason: string): Promise<void> {
    const { logger, hookTimeoutMs = 15_000 } = this.options;
    logger?.info({ reason }, 'shutting down');
    for (const hook of [...this.hooks].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(hook.run),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${hookTimeoutMs} ms`)), hookTimeoutMs);
          }),
        ]);
        logger?.info({ hook: hook.name }, 'shutdown hook done');
      } catch (err) {
        logger?.error({ hook: hook.name, err }, 'shutdown hook failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

export function createShutdown(options: { logger?: Logger; hookTimeoutMs?: number } = {}): Lifecycle {
  return new Lifecycle(options);
}
