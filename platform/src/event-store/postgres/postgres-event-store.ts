import pg from 'pg';
import type { DatabaseConnection } from '../../embedded-postgres/provision';
import { normaliseAppend } from '../append-validation';
import { GroupCommit, type ItemOutcome } from '../../persistence/group-commit';
import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type LogFilter,
  type LogPage,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from '../event-store';
import { PgNotifier } from '../../persistence/pg-notifier';
import { LogSubscription } from './log-subscription';

export interface PostgresEventStoreOptions {
  connection: DatabaseConnection | pg.PoolConfig;
  /** Connections in the pool (reads and appends). */
  poolSize?: number;
  /**
   * Group commit: how many batch transactions may be in flight at once. Each
   * holds the global append lock from its first statement through its commit,
   * so batches never overlap in the database; 1 (the default) lets appends
   * pile up into the next batch while one commits, which gives the largest
   * batches and the best throughput (see docs/benchmarks.md). 2 trades some
   * throughput for lower latency at low load.
   */
  appendConcurrency?: number;
  /** Upper bound on events merged into one append transaction. */
  maxBatchEvents?: number;
  /** Fallback re-read interval for subscriptions if a notification was missed. */
  safetyPollMs?: number;
}

type AppendRequest = ReturnType<typeof normaliseAppend>;

interface BatchRow {
  appended: boolean;
  failure: string | null;
  last_revision: string;
  last_position: string | null;
}

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
  private readonly appends: GroupCommit<AppendRequest, AppendResult>;
  private readonly notifier: PgNotifier;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = new pg.Pool({ ...options.connection, max: options.poolSize ?? 10 });
    // An idle client that loses its connection must not crash the process;
    // the next query gets a fresh one.
    this.pool.on('error', () => undefined);
    // One append per stream per batch, so the appends of a batch are
    // independent; a second append to a stream waits for the next batch,
    // which keeps per-stream order.
    this.appends = new GroupCommit((batch) => this.writeBatch(batch), {
      concurrency: options.appendConcurrency ?? 1,
      maxBatchWeight: options.maxBatchEvents ?? 2_000,
      weight: (a) => a.events.length,
      exclusiveKey: (a) => a.streamId,
    });
    this.notifier = new PgNotifier(options.connection, 'es_appended');
  }

  append(streamId: string, events: EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    let request: ReturnType<typeof normaliseAppend>;
    try {
      request = normaliseAppend(streamId, events, options.expectedRevision ?? 'any');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    return this.appends.submit(request);
  }

  /** One transaction for a batch of appends to distinct streams (see `es_append`). */
  private async writeBatch(batch: AppendRequest[]): Promise<ItemOutcome<AppendResult>[]> {
    const eApp: number[] = [];
    const eId: string[] = [];
    const eType: string[] = [];
    const eSv: number[] = [];
    const eData: unknown[] = [];
    const eMeta: unknown[] = [];
    batch.forEach((a, i) => {
      for (const e of a.events) {
        eApp.push(i + 1);
        eId.push(e.id);
        eType.push(e.type);
        eSv.push(e.schemaVersion);
        eData.push(e.data);
        eMeta.push(e.metadata);
      }
    });
    let rows: BatchRow[];
    try {
      const res = await this.pool.query<BatchRow>({
        name: 'es_append',
        text: 'select * from es_append($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        values: [
          batch.map((a) => a.streamId),
          batch.map((a) => String(a.expected)),
          batch.map((a) => a.events.length),
          eApp,
          eId,
          eType,
          eSv,
          JSON.stringify(eData),
          JSON.stringify(eMeta),
        ],
      });
      rows = res.rows;
    } catch (err) {
      throw mapDatabaseError(err, batch[0]!.streamId);
    }
    return batch.map((a, i): ItemOutcome<AppendResult> => {
      const r = rows[i]!;
      if (r.appended) return { ok: true, value: { nextExpectedRevision: Number(r.last_revision), position: Number(r.last_position) } };
      if (r.failure === 'duplicate_event_id') return { ok: false, error: new DuplicateEventIdError(a.streamId) };
      return { ok: false, error: new WrongExpectedRevisionError(a.streamId, a.expected, Number(r.last_revision)) };
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
    await this.appends.idle();
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
