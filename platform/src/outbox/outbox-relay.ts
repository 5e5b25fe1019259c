import type { Knex } from 'knex';
import pg from 'pg';
import type { Bus, OutgoingMessage } from '../bus/bus';
import { outboxMetrics } from '../observability/metrics';
import { ATTR, SpanKind, carrierOf, contextOf, failSpan, trace, tracer, tracingEnabled, type Span } from '../observability/tracing';
import { matchesFilter, type EventStore, type LogFilter, type LogPage, type RecordedEvent, type Subscription } from '../event-store/event-store';

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

/**
 * Under load the checkpoint is written at most this often: a crash then
 * publishes again up to this much of the log, which consumers' inboxes absorb.
 */
const CHECKPOINT_INTERVAL_MS = 100;

function countPublished(relay: string, messages: readonly OutgoingMessage[]): void {
  const byTopic = new Map<string, number>();
  for (const m of messages) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
  for (const [topic, n] of byTopic) outboxMetrics.published.inc({ relay, topic }, n);
}

/** The envelope's trace-context headers (CloudEvents binary binding, `ce_` prefix). */
const TRACEPARENT_HEADER = 'ce_traceparent';
const TRACESTATE_HEADER = 'ce_tracestate';

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
  /**
   * The integration messages for a stored event; [] for events that stay
   * inside the service. When it names the types it publishes
   * (`outboundMessages` does), the relay reads only events of those types.
   */
  toMessages: ((event: RecordedEvent) => OutgoingMessage[]) & { relayedTypes?: readonly string[] };
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
  /** Fed by a `LogFanOut` instead of a subscription of its own: told when leadership comes and goes. */
  private onLeadership: ((leader: boolean) => void) | undefined;
  private lastCheckpointWrite = 0;
  private deferred: { position: number; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly options: OutboxRelayOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** What it reads of the log: its filter, narrowed to the types its mapping publishes. */
  get filter(): LogFilter | undefined {
    const types = this.options.toMessages.relayedTypes;
    if (!types) return this.options.filter;
    const own = this.options.filter?.types;
    return { ...this.options.filter, types: own ? own.filter((t) => types.includes(t)) : [...types] };
  }

  async init(): Promise<void> {
    await this.options.db('outbox_checkpoints').insert({ relay: this.options.name, position: 0 }).onConflict('relay').ignore();
  }

  /** Contends for leadership and, as leader, follows the log from its checkpoint with a subscription of its own. */
  async start(): Promise<void> {
    await this.init();
    this.running = true;
    await this.tryLead();
    this.timer = setInterval(() => void this.tryLead(), this.options.retryMs ?? 1_000);
  }

  /**
   * Contends for leadership only; whoever shares its log subscription
   * (`LogFanOut`) is told when it leads and feeds it with `relayEvents`.
   */
  async startLeadership(onLeadership: (leader: boolean) => void): Promise<void> {
    this.onLeadership = onLeadership;
    await this.start();
  }

  /** The stored checkpoint: every event at or before it has been published. */
  async checkpoint(): Promise<number> {
    const row = (await this.options.db('outbox_checkpoints').where({ relay: this.options.name }).first('position')) as { position: string } | undefined;
    return Number(row?.position ?? 0);
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
    if (this.onLeadership) {
      this.onLeadership(true);
      return;
    }
    await this.follow();
  }

  private async follow(): Promise<void> {
    const { db, name, store } = this.options;
    const row = (await db('outbox_checkpoints').where({ relay: name }).first('position')) as { position: string };
    const sub = store.subscribeToAll({
      fromPosition: Number(row.position),
      filter: this.filter,
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

  private relay(page: LogPage): Promise<void> {
    return this.relayEvents(page.events, page.scannedTo, { withMetadata: true });
  }

  /**
   * Publishes the messages of `events` (stored events after the checkpoint,
   * in log order, matching the filter), then moves the checkpoint to
   * `scannedTo`: a crash in between publishes them again (at-least-once, in
   * log order). Events read without their metadata are read again with it
   * first (the message attributes come from it). Under load the checkpoint
   * moves at most every `CHECKPOINT_INTERVAL_MS` (the last position is
   * written when that time is up, and when the relay stops).
   */
  async relayEvents(events: RecordedEvent[], scannedTo: number, page: { withMetadata: boolean }): Promise<void> {
    const client = this.lockClient;
    if (!client) throw new Error('lost relay leadership');
    const filter = this.filter;
    const filtered = filter ? events.filter((e) => matchesFilter(filter, e)) : events;
    const complete = page.withMetadata || filtered.length === 0 ? filtered : await this.withMetadata(filtered);
    let messages = complete.flatMap((e) => this.options.toMessages(e));
    if (messages.length > 0) {
      let spans: Span[] | undefined;
      if (tracingEnabled()) ({ messages, spans } = this.withPublishSpans(messages));
      try {
        await this.options.bus.publish(messages);
      } catch (err) {
        for (const span of spans ?? []) failSpan(span, err);
        throw err;
      } finally {
        for (const span of spans ?? []) span.end();
      }
      this.published += messages.length;
      countPublished(this.options.name, messages);
    }
    if (this.lockClient !== client) throw new Error('lost relay leadership');
    if (Date.now() - this.lastCheckpointWrite < CHECKPOINT_INTERVAL_MS) {
      this.deferCheckpoint(scannedTo);
      return;
    }
    await this.writeCheckpoint(scannedTo);
  }

  /**
   * A `publish <topic>` span per message, a child of the trace context stored
   * with its event; the message then carries the span's context, which its
   * consumers continue.
   */
  private withPublishSpans(messages: OutgoingMessage[]): { messages: OutgoingMessage[]; spans: Span[] } {
    const spans: Span[] = [];
    const out = messages.map((m) => {
      const headers = m.headers ?? {};
      const parent = contextOf({ traceparent: headers[TRACEPARENT_HEADER], tracestate: headers[TRACESTATE_HEADER] });
      const span = tracer.startSpan(
        `publish ${m.topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR.messagingSystem]: this.options.bus.system,
            [ATTR.messagingOperationType]: 'send',
            [ATTR.messagingOperationName]: 'publish',
            [ATTR.messagingDestination]: m.topic,
            [ATTR.messagingKafkaKey]: m.key,
            ...(headers.ce_id ? { [ATTR.messagingMessageId]: headers.ce_id } : {}),
            ...(headers.ce_type ? { [ATTR.messageType]: headers.ce_type } : {}),
            ...(headers.ce_correlationid ? { [ATTR.messagingConversationId]: headers.ce_correlationid } : {}),
          },
        },
        parent,
      );
      spans.push(span);
      const carrier = carrierOf(trace.setSpan(parent, span));
      if (!carrier.traceparent) return m;
      return {
        ...m,
        headers: { ...headers, [TRACEPARENT_HEADER]: carrier.traceparent, ...(carrier.tracestate ? { [TRACESTATE_HEADER]: carrier.tracestate } : {}) },
      };
    });
    return { messages: out, spans };
  }

  private async writeCheckpoint(position: number): Promise<void> {
    this.lastCheckpointWrite = Date.now();
    if (this.deferred && this.deferred.position <= position) {
      clearTimeout(this.deferred.timer);
      this.deferred = undefined;
    }
    await this.options
      .db('outbox_checkpoints')
      .where({ relay: this.options.name })
      .andWhere('position', '<', position)
      .update({ position, updated_at: this.options.db.fn.now() });
  }

  /** A checkpoint held back: written `CHECKPOINT_INTERVAL_MS` later unless a newer one is written first. */
  private deferCheckpoint(position: number): void {
    if (this.deferred) {
      this.deferred.position = Math.max(this.deferred.position, position);
      return;
    }
    const timer = setTimeout(() => {
      const d = this.deferred;
      this.deferred = undefined;
      if (!d || !this.lockClient) return;
      this.writeCheckpoint(d.position).catch((err: unknown) => this.options.onError?.(err));
    }, CHECKPOINT_INTERVAL_MS);
    timer.unref();
    this.deferred = { position, timer };
  }

  private async withMetadata(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    const from = new Map<string, number>();
    for (const e of events) from.set(e.streamId, Math.min(from.get(e.streamId) ?? e.revision, e.revision));
    const read = await this.options.store.readStreams([...from].map(([streamId, fromRevision]) => ({ streamId, fromRevision })));
    const byId = new Map([...read.values()].flat().map((e) => [e.id, e]));
    return events.map((e) => byId.get(e.id) ?? e);
  }

  private demote(client: pg.Client): void {
    if (this.lockClient !== client) return;
    this.lockClient = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    void sub?.stop();
    this.onLeadership?.(false);
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
    const deferred = this.deferred;
    if (deferred) {
      clearTimeout(deferred.timer);
      this.deferred = undefined;
      if (this.lockClient) await this.writeCheckpoint(deferred.position).catch(() => undefined);
    }
    await this.attempting;
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.stop();
    await this.stepDown();
  }
}
