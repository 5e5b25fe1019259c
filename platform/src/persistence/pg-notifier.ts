import pg from 'pg';
import { WakeSignal } from './wake-signal';

/**
 * One LISTEN connection shared by every reader of a channel (the event
 * store's subscriptions, the bus's consumers). Writers NOTIFY at commit; each
 * notification wakes all waiters, which then re-read from their own
 * checkpoints. A lost connection also wakes everyone (a notification may have
 * been missed) and reconnects with backoff.
 */
export class PgNotifier {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly wake = new WakeSignal();
  private readonly filtered = new Set<{ matches: (payload: string) => boolean; resolve: () => void }>();
  private closed = false;
  private backoffMs = 100;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
  ) {}

  /** Resolves once LISTEN is active, so that a read after it cannot miss a wake-up. */
  async ready(): Promise<void> {
    if (this.closed) return;
    if (this.client) return;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** A promise for the next notification (or connection loss). Take it before reading. */
  nextWake(): Promise<void> {
    return this.wake.next();
  }

  /**
   * A promise for the next notification whose payload `matches` (or for a
   * connection loss). Take it before reading. Readers that only care about
   * some notifications (a bus partition) avoid waking for every one.
   */
  nextWakeFor(matches: (payload: string) => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter = { matches, resolve };
      this.filtered.add(waiter);
    });
  }

  private fire(payload?: string): void {
    this.wake.fire();
    for (const waiter of this.filtered) {
      if (payload === undefined || waiter.matches(payload)) {
        this.filtered.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connection);
    client.on('notification', (n) => this.fire(n.payload ?? ''));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`listen ${client.escapeIdentifier(this.channel)}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = 100;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.fire();
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
    setTimeout(() => {
      this.ready().catch(() => this.lost(client));
    }, delay).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fire();
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
