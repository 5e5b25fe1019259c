import pg from 'pg';
import type { DatabaseConnection } from '../../embedded-postgres/provision';
import { normaliseAppend, type NormalisedEvent } from '../append-validation';
import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type LogFilter,
  type LogPage,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from '../event-store';
import { AppendNotifier } from './append-notifier';
import { LogSubscription } from './log-subscription';

export interface PostgresEventStoreOptions {
  connection: DatabaseConnection | pg.PoolConfig;
  /** Connections in the pool (reads and appends). */
  poolSize?: number;
  /**
   * Group commit: how many batch transactions may be in flight at once. While
   * one batch holds the global append lock through its commit, the next one
   * locks its streams and waits, so two overlap well; more add little.
   */
  appendConcurrency?: number;
  /** Upper bound on events merged into one append transaction. */
  maxBatchEvents?: number;
  /** Fallback re-read interval for subscriptions if a notification was missed. */
  safetyPollMs?: number;
}

interface PendingAppend {
  streamId: string;
  expected: ExpectedRevision;
  events: NormalisedEvent[];
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

type BatchResult = { ok: true; r: number; p: number } | { ok: false; err: string; a: number };

interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

const EVENT_COLUMNS =
  'global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata, recorded_at';

export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly queue: PendingAppend[] = [];
  private inFlight = 0;
  private readonly appendConcurrency: number;
  private readonly maxBatchEvents: number;
  private readonly notifier: AppendNotifier;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = new pg.Pool({ ...options.connection, max: options.poolSize ?? 10 });
    // An idle client that loses its connection must not crash the process;
    // the next query gets a fresh one.
    this.pool.on('error', () => undefined);
    this.appendConcurrency = options.appendConcurrency ?? 2;
    this.maxBatchEvents = options.maxBatchEvents ?? 2_000;
    this.notifier = new AppendNotifier(options.connection, 'es_appended');
  }

  append(streamId: string, events: EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    let request: ReturnType<typeof normaliseAppend>;
    try {
      request = normaliseAppend(streamId, events, options.expectedRevision ?? 'any');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.appendConcurrency && this.queue.length > 0) {
      const batch: PendingAppend[] = [];
      let events = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (batch.length > 0 && events + next.events.length > this.maxBatchEvents) break;
        batch.push(this.queue.shift()!);
        events += next.events.length;
      }
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async runBatch(batch: PendingAppend[]): Promise<void> {
    const payload = JSON.stringify(
      batch.map((a) => ({
        s: a.streamId,
        e: String(a.expected),
        v: a.events.map((e) => ({ id: e.id, t: e.type, sv: e.schemaVersion, d: e.data, m: e.metadata })),
      })),
    );
    let results: BatchResult[];
    try {
      const res = await this.pool.query<{ r: BatchResult[] }>('select es_append($1::jsonb) as r', [payload]);
      results = res.rows[0]!.r;
    } catch (err) {
      if (batch.length > 1) {
        // One bad append (say, an event id reused in another stream) aborts the
        // whole transaction. Retry each on its own so only it fails.
        for (const one of batch) await this.runBatch([one]);
        return;
      }
      batch[0]!.reject(mapDatabaseError(err, batch[0]!.streamId));
      return;
    }
    batch.forEach((a, i) => {
      const r = results[i]!;
      if (r.ok) a.resolve({ nextExpectedRevision: Number(r.r), position: Number(r.p) });
      else if (r.err === 'duplicate_event_id') a.reject(new DuplicateEventIdError(a.streamId));
      else a.reject(new WrongExpectedRevisionError(a.streamId, a.expected, Number(r.a)));
    });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const res = await this.pool.query<EventRow>(
      `select ${EVENT_COLUMNS} from es_events
       where stream_id = $1 and stream_revision ${backwards ? '<=' : '>='} $2
       order by stream_revision ${backwards ? 'desc' : 'asc'} limit $3`,
      [streamId, from, limit],
    );
    return res.rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<LogPage> {
    const from = options.fromPosition ?? 0;
    const limit = options.maxCount ?? 1_000;
    // The head is read first: every event up to it is committed and, since
    // commit order is position order, visible to the page query that follows.
    const head = await this.headPosition();
    const params: unknown[] = [from, limit];
    const where = ['global_position > $1', ...filterSql(options.filter, params)];
    const res = await this.pool.query<EventRow>(
      `select ${EVENT_COLUMNS} from es_events where ${where.join(' and ')} order by global_position limit $2`,
      params,
    );
    const events = res.rows.map(toRecorded);
    const last = events.length > 0 ? events[events.length - 1]!.position : from;
    // A short page saw everything committed when it ran, which is at least up
    // to `head`; a full page only up to its last event.
    const scannedTo = events.length >= limit ? last : Math.max(head, last, from);
    return { events, scannedTo };
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const sub = new LogSubscription(this, this.notifier, options, this.options.safetyPollMs ?? 10_000);
    this.subscriptions.add(sub);
    void sub.done.catch(() => undefined).finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  async headPosition(): Promise<number> {
    const res = await this.pool.query<{ head: string | null }>('select max(global_position) as head from es_events');
    return Number(res.rows[0]?.head ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.notifier.close();
    await this.pool.end();
  }
}

function filterSql(filter: LogFilter | undefined, params: unknown[]): string[] {
  const clauses: string[] = [];
  if (filter?.categories && filter.categories.length > 0) {
    params.push(filter.categories);
    clauses.push(`category = any($${params.length})`);
  }
  if (filter?.streamPrefix) {
    params.push(filter.streamPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%');
    clauses.push(`stream_id like $${params.length}`);
  }
  return clauses;
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: Number(row.stream_revision),
    position: Number(row.global_position),
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}

function mapDatabaseError(err: unknown, streamId: string): unknown {
  const code = (err as { code?: string }).code;
  // 23505: an event id already used by another stream (the only unique key a
  // single append can still hit after its own duplicate check).
  if (code === '23505') return new DuplicateEventIdError(streamId);
  return err;
}
