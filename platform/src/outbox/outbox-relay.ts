import type { Knex } from 'knex';
import pg from 'pg';
import type { Bus, OutgoingMessage } from '../bus/bus';
import type { EventStore, LogFilter, LogPage, RecordedEvent, Subscription } from '../event-store/event-store';

export const outboxMigrations: Record<string, Knex.Migration> = {
  '0001_outbox_checkpoints': {
    up: (knex) =>
      knex.raw(`
        create table outbox_checkpoints (
          relay text primary key,
          position bigint not null default 0,
          updated_at timestamptz not null default now()
        )`),
    down: (knex) => knex.raw('drop table outbox_checkpoints'),
  },
};

/** Advisory lock class for relay leadership (two-key form, apart from other locks). */
const RELAY_LOCK_CLASS = 7_460_002;

export interface OutboxRelayOptions {
  /** One relay per service: instances with the same name elect one leader. */
  name: string;
  store: EventStore;
  /** The service's database: holds the checkpoint. */
  db: Knex;
  /** The same database, for the leadership lock's own session. */
  lockConnection: pg.ClientConfig;
  bus: Bus;
  /** The integration messages for a stored event; [] for events that stay inside the service. */
  toMessages: (event: RecordedEvent) => OutgoingMessage[];
  filter?: LogFilter;
  batchSize?: number;
  /** How often a standby tries to become leader, and the pause after a failure. */
  retryMs?: number;
  onError?: (err: unknown) => void;
}

export interface OutboxRelayStatus {
  leader: boolean;
  position: number;
  head: number;
  lag: number;
  published: number;
}

/**
 * Relays a service's integration events from its event store to the bus.
 *
 * No dual write: the service only appends to its store; the relay follows the
 * store's log from a checkpoint kept in the service's database, publishes,
 * and only then moves the checkpoint. A crash between the two republishes
 * the page (at-least-once); consumers' inboxes absorb the duplicates, since a
 * message's id is derived from the event's id. Log order is kept within a
 * page and across pages, so order per key holds.
 *
 * Exactly one relay per service is active: leadership is a session advisory
 * lock on the service's database. When the leader's process or connection
 * dies, the lock goes with it and a standby takes over within `retryMs`.
 */
export class OutboxRelay {
  private lockClient: pg.Client | undefined;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private attempting: Promise<void> | undefined;
  private published = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  async init(): Promise<void> {
    await this.options.db('outbox_checkpoints').insert({ relay: this.options.name, position: 0 }).onConflict('relay').ignore();
  }

  async start(): Promise<void> {
    await this.init();
    this.running = true;
    await this.tryLead();
    this.timer = setInterval(() => void this.tryLead(), this.options.retryMs ?? 1_000);
  }

  get isLeader(): boolean {
    return this.lockClient !== undefined;
  }

  private tryLead(): Promise<void> {
    this.attempting ??= this.lead()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => (this.attempting = undefined));
    return this.attempting;
  }

  private async lead(): Promise<void> {
    if (!this.running || this.lockClient) return;
    const client = new pg.Client(this.options.lockConnection);
    client.on('error', () => this.demote(client));
    client.on('end', () => this.demote(client));
    await client.connect();
    const res = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [
      RELAY_LOCK_CLASS,
      this.options.name,
    ]);
    if (!res.rows[0]!.ok || !this.running) {
      await client.end().catch(() => undefined);
      return;
    }
    this.lockClient = client;
    await this.follow();
  }

  private async follow(): Promise<void> {
    const { db, name, store } = this.options;
    const row = (await db('outbox_checkpoints').where({ relay: name }).first('position')) as { position: string };
    const sub = store.subscribeToAll({
      fromPosition: Number(row.position),
      filter: this.options.filter,
      batchSize: this.options.batchSize ?? 500,
      onPage: (page) => this.relay(page),
    });
    this.subscription = sub;
    sub.done.catch((err: unknown) => {
      if (this.subscription !== sub) return;
      this.options.onError?.(err);
      // Give up leadership and contend again; the checkpoint says where to resume.
      void this.stepDown();
    });
  }

  private async relay(page: LogPage): Promise<void> {
    const client = this.lockClient;
    if (!client) throw new Error('lost relay leadership');
    const messages = page.events.flatMap((e) => this.options.toMessages(e));
    if (messages.length > 0) {
      await this.options.bus.publish(messages);
      this.published += messages.length;
    }
    if (this.lockClient !== client) throw new Error('lost relay leadership');
    await this.options
      .db('outbox_checkpoints')
      .where({ relay: this.options.name })
      .andWhere('position', '<', page.scannedTo)
      .update({ position: page.scannedTo, updated_at: this.options.db.fn.now() });
  }

  private demote(client: pg.Client): void {
    if (this.lockClient !== client) return;
    this.lockClient = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    void sub?.stop();
  }

  private async stepDown(): Promise<void> {
    const client = this.lockClient;
    if (client) this.demote(client);
    await client?.end().catch(() => undefined);
  }

  async status(): Promise<OutboxRelayStatus> {
    const row = (await this.options.db('outbox_checkpoints').where({ relay: this.options.name }).first('position')) as
      | { position: string }
      | undefined;
    const position = Number(row?.position ?? 0);
    const head = await this.options.store.headPosition();
    return { leader: this.isLeader, position, head, lag: Math.max(0, head - position), published: this.published };
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await this.attempting;
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.stop();
    await this.stepDown();
  }
}
