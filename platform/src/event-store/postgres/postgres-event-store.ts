import pg from 'pg';
import type { DatabaseConnection } from '../../embedded-postgres/provision';
import { normaliseAppend, normaliseUnit } from '../append-validation';
import { eventStoreMetrics } from '../../observability/metrics';
import { withTraceContext } from '../trace-context';
import { CommitObservers, type CommitListener, type CommittedEvent } from '../commit-observers';
import { GroupCommit, type ItemOutcome } from '../../persistence/group-commit';
import {
  AlreadyHandledError,
  CommitConflictError,
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type CommitResult,
  type UnitToCommit,
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
import { LogSubscription } from '../log-subscription';
import type { Inbox } from '../../inbox/inbox';

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
  /** Positions one query of a filtered `readAll` scans at most (see there); by default 100,000 or ten pages. */
  filteredScanWindow?: number;
}

type AppendRequest = ReturnType<typeof normaliseAppend>;

interface BatchRow {
  appended: boolean;
  failure: string | null;
  last_revision: string;
  last_position: string | null;
}

interface CommitRow {
  ok: boolean;
  failure: string | null;
  stream_id: string | null;
  revision: string | null;
  last_position: string | null;
}

/** A row of EVENT_COLUMNS, read in array mode (no per-row object keyed by column name). */
type EventRow = [
  globalPosition: string,
  eventId: string,
  streamId: string,
  streamRevision: string,
  type: string,
  schemaVersion: number,
  data: unknown,
  recordedMs: number,
  /** Absent when read without metadata. */
  metadata?: Record<string, unknown>,
];

// recorded_at as epoch milliseconds: a Date from a number costs a fraction of parsing PostgreSQL's timestamp text.
const EVENT_COLUMNS_WITHOUT_METADATA =
  'global_position, event_id, stream_id, stream_revision, type, schema_version, data, (extract(epoch from recorded_at) * 1000)::float8';
const EVENT_COLUMNS = `${EVENT_COLUMNS_WITHOUT_METADATA}, metadata`;

/**
 * Positions one query of a filtered read scans at most; a page that is not
 * full by then continues in the next window, up to the head.
 */
const FILTERED_SCAN_WINDOW = 100_000;

export class PostgresEventStore implements EventStore, Inbox {
  private readonly pool: pg.Pool;
  private readonly appends: GroupCommit<AppendRequest, AppendResult>;
  private readonly notifier: PgNotifier;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;
  private readonly observers = new CommitObservers();
  /** `es_events.event_id` is the primary key. */
  readonly guarantees = { eventIdsUniqueAcrossStreams: true };

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

  /**
   * Calls `listener` with the events of every append and commit that
   * succeeded, right after it (a service's own metrics: sagas started and
   * ended). It must be quick and must not throw. Returns its removal.
   */
  onCommitted(listener: CommitListener): () => void {
    return this.observers.add(listener);
  }

  private committed(events: CommittedEvent[]): void {
    this.observers.committed(events);
  }

  append(streamId: string, events: EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    let request: ReturnType<typeof normaliseAppend>;
    try {
      request = normaliseAppend(streamId, withTraceContext(events), options.expectedRevision ?? 'any');
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
    const timer = eventStoreMetrics.appendDuration.startTimer({ operation: 'append' });
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
      timer({ result: 'ok' });
    } catch (err) {
      timer({ result: 'error' });
      throw mapDatabaseError(err, batch[0]!.streamId);
    }
    return batch.map((a, i): ItemOutcome<AppendResult> => {
      const r = rows[i]!;
      if (r.appended) {
        this.committed(a.events.map((e) => ({ streamId: a.streamId, type: e.type, data: e.data })));
        return { ok: true, value: { nextExpectedRevision: Number(r.last_revision), position: Number(r.last_position) } };
      }
      if (r.failure === 'duplicate_event_id') return { ok: false, error: new DuplicateEventIdError(a.streamId) };
      return { ok: false, error: new WrongExpectedRevisionError(a.streamId, a.expected, Number(r.last_revision)) };
    });
  }

  /** One statement (`es_commit`): the unit's checks, events and inbox rows, all or nothing. */
  async commit(unit: UnitToCommit): Promise<CommitResult> {
    const u = normaliseUnit({ ...unit, events: withTraceContext(unit.events) });
    if (this.closed) throw new Error('event store is closed');
    let rows: CommitRow[];
    const timer = eventStoreMetrics.appendDuration.startTimer({ operation: 'commit' });
    try {
      const res = await this.pool.query<CommitRow>({
        name: 'es_commit',
        text: 'select * from es_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        values: [
          u.inbox?.consumer ?? null,
          u.inbox?.messageIds ?? [],
          u.streams.map((s) => s.streamId),
          u.streams.map((s) => String(s.expected)),
          u.events.map((e) => e.stream + 1),
          u.events.map((e) => e.id),
          u.events.map((e) => e.type),
          u.events.map((e) => e.schemaVersion),
          JSON.stringify(u.events.map((e) => e.data)),
          JSON.stringify(u.events.map((e) => e.metadata)),
        ],
      });
      rows = res.rows;
    } catch (err) {
      timer({ result: 'error' });
      throw mapDatabaseError(err, u.streams[0]?.streamId ?? '');
    }
    const failed = rows.filter((r) => !r.ok);
    timer({ result: failed.length > 0 ? 'conflict' : 'ok' });
    if (failed.length > 0) {
      const reason = failed[0]!.failure;
      if (reason === 'already_handled') throw new AlreadyHandledError(u.inbox!.consumer, failed.map((r) => r.stream_id!));
      if (reason === 'duplicate_event_id') throw new DuplicateEventIdError(u.streams[0]?.streamId ?? '');
      const expected = new Map(u.streams.map((s) => [s.streamId, s.expected]));
      throw new CommitConflictError(failed.map((r) => ({ streamId: r.stream_id!, expected: expected.get(r.stream_id!)!, actual: Number(r.revision) })));
    }
    if (u.events.length > 0) this.committed(u.events.map((e) => ({ streamId: u.streams[e.stream]!.streamId, type: e.type, data: e.data })));
    const revisions: Record<string, number> = {};
    let position: number | undefined;
    for (const r of rows) {
      revisions[r.stream_id!] = Number(r.revision);
      if (r.last_position !== null) position = Math.max(position ?? 0, Number(r.last_position));
    }
    return { revisions, position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const limit = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const res = await this.pool.query<EventRow>({
      text: `select ${EVENT_COLUMNS} from es_events
       where stream_id = $1 and stream_revision ${backwards ? '<=' : '>='} $2
       order by stream_revision ${backwards ? 'desc' : 'asc'} limit $3`,
      values: [streamId, from, limit],
      rowMode: 'array',
    });
    return res.rows.map((row) => toRecorded(row));
  }

  /** The inbox (`inbox_messages`, in this store's database): which of the messages the consumer has handled. */
  async handled(consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const res = await this.pool.query<[string]>({
      name: 'inbox_handled',
      text: 'select message_id from inbox_messages where consumer = $1 and message_id = any($2::text[])',
      values: [consumer, messageIds],
      rowMode: 'array',
    });
    return new Set(res.rows.map((r) => r[0]));
  }

  async readStreams(streams: { streamId: string; fromRevision?: number }[]): Promise<Map<string, RecordedEvent[]>> {
    const out = new Map<string, RecordedEvent[]>(streams.map((s) => [s.streamId, []]));
    if (streams.length === 0) return out;
    const res = await this.pool.query<EventRow>({
      name: 'es_read_streams',
      // A lateral index scan per stream: a join over arrays gets a generic plan that scans the table.
      text: `select e.* from unnest($1::text[], $2::bigint[]) as s(sid, from_revision)
             cross join lateral (
               select ${EVENT_COLUMNS} from es_events
               where stream_id = s.sid and stream_revision >= s.from_revision
               order by stream_revision
             ) e`,
      values: [streams.map((s) => s.streamId), streams.map((s) => s.fromRevision ?? 0)],
      rowMode: 'array',
    });
    for (const row of res.rows) out.get(row[2])?.push(toRecorded(row));
    return out;
  }

  async readAll(options: ReadAllOptions = {}): Promise<LogPage> {
    const from = options.fromPosition ?? 0;
    const limit = options.maxCount ?? 1_000;
    // $1 to $3 are the window and the limit of a page; the filters' own parameters follow.
    const filterParams: unknown[] = [undefined, undefined, undefined];
    const filters = filterSql(options.filter, filterParams);
    const meta = options.withMetadata;
    let columns = meta === false ? EVENT_COLUMNS_WITHOUT_METADATA : EVENT_COLUMNS;
    if (typeof meta === 'object') {
      const only = filterSql(meta, filterParams);
      columns = only.length === 0 ? EVENT_COLUMNS : `${EVENT_COLUMNS_WITHOUT_METADATA}, case when ${only.join(' and ')} then metadata end`;
    }
    // One statement reads the head and the page, from one snapshot: since
    // commit order is position order, that snapshot holds every event up to
    // its head, so a short page has seen everything up to the head (and
    // `scannedTo` may go there) without a second round trip.
    const page = async (after: number, upTo: number | null, max: number) => {
      const res = await this.pool.query<[string, ...EventRow]>({
        text: `select h.head, e.* from (select coalesce(max(global_position), 0) as head from es_events) h
               left join lateral (
                 select ${columns} from es_events
                 where global_position > $1 and ($2::bigint is null or global_position <= $2) ${filters.map((f) => `and ${f}`).join(' ')}
                 order by global_position limit $3
               ) e on true`,
        values: [after, upTo, max, ...filterParams.slice(3)],
        rowMode: 'array',
      });
      const head = Number(res.rows[0]?.[0] ?? 0);
      const events = res.rows[0]?.[1] === null ? [] : res.rows.map((row) => toRecorded(row, 1));
      return { head, events };
    };
    if (filters.length === 0) {
      const { head, events } = await page(from, null, limit);
      const last = events.length > 0 ? events[events.length - 1]!.position : from;
      // A short page saw everything up to its snapshot's head; a full page only up to its last event.
      return { events, scannedTo: events.length >= limit ? last : Math.max(head, last, from) };
    }
    // A filtered page scans bounded windows of positions up to the head, so
    // that whichever plan reaches the matching rows (the primary key and a
    // filter, or an index on the filtered column and a sort) costs at most a
    // window. Unbounded, a plan that fetches and sorts every match after
    // `from` makes each page of a rebuild cost as much as the rest of the log.
    const window = this.options.filteredScanWindow ?? Math.max(FILTERED_SCAN_WINDOW, limit * 10);
    const events: RecordedEvent[] = [];
    let scanned = from;
    for (;;) {
      const upTo = scanned + window;
      const result = await page(scanned, upTo, limit - events.length);
      for (const e of result.events) events.push(e);
      if (events.length >= limit) {
        scanned = events[events.length - 1]!.position;
        break;
      }
      // Each window's statement has its own snapshot: it scanned up to its own head.
      scanned = Math.max(scanned, Math.min(result.head, upTo));
      if (scanned >= result.head) break;
    }
    return { events, scannedTo: Math.max(scanned, from) };
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
  if (filter?.types && filter.types.length > 0) {
    params.push(filter.types);
    clauses.push(`type = any($${params.length})`);
  }
  if (filter?.streamPrefix) {
    params.push(filter.streamPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%');
    clauses.push(`stream_id like $${params.length}`);
  }
  return clauses;
}

/** An event from a row of EVENT_COLUMNS, which start at `at` (1 when the head comes first). */
function toRecorded(row: readonly unknown[], at = 0): RecordedEvent {
  return {
    id: row[at + 1] as string,
    streamId: row[at + 2] as string,
    revision: Number(row[at + 3]),
    position: Number(row[at]),
    type: row[at + 4] as string,
    schemaVersion: row[at + 5] as number,
    data: row[at + 6],
    metadata: (row[at + 8] as Record<string, unknown> | undefined | null) ?? {},
    recordedAt: new Date(row[at + 7] as number),
  };
}

function mapDatabaseError(err: unknown, streamId: string): unknown {
  const code = (err as { code?: string }).code;
  // 23505: an event id already used by another stream (the only unique key a
  // single append can still hit after its own duplicate check).
  if (code === '23505') return new DuplicateEventIdError(streamId);
  return err;
}
