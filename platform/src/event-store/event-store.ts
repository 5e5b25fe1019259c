import { ConcurrencyError, ValidationError } from '../errors/errors';

/**
 * The EventStore port. Every adapter (Postgres, EventStoreDB) passes the same
 * conformance suite: `platform/src/testing/event-store-conformance.ts`.
 *
 * Positions in the global log are integers starting at 1; position 0 means
 * "before the first event". Stream revisions start at 0 (EventStoreDB's
 * convention): a stream whose last event has revision 4 holds 5 events.
 */

/** What the stream must look like for an append to succeed. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  /** W3C trace context of the operation that produced the event. */
  traceparent?: string;
  tracestate?: string;
  [key: string]: unknown;
}

export interface EventToAppend<Data = unknown> {
  /** A UUID. Retrying an append with the same ids is a no-op. Generated when absent. */
  id?: string;
  type: string;
  /** Schema version of `data`; 1 when absent. */
  schemaVersion?: number;
  data: Data;
  metadata?: EventMetadata;
}

export interface RecordedEvent<Data = unknown> {
  id: string;
  streamId: string;
  revision: number;
  position: number;
  type: string;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
  recordedAt: Date;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  nextExpectedRevision: number;
  /** Global position of the last appended event. */
  position: number;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Defaults to the first revision forwards and the last backwards. */
  fromRevision?: number;
  maxCount?: number;
}

export interface LogFilter {
  /** Stream ids starting with this prefix. */
  streamPrefix?: string;
  /** Stream categories: the part of the stream id before the first `-`. */
  categories?: string[];
  /** Event types. A reader that handles only some types need not receive (and decode) the others. */
  types?: string[];
}

export interface ReadAllOptions {
  /** Exclusive: events after this position. 0 reads from the beginning. */
  fromPosition?: number;
  maxCount?: number;
  filter?: LogFilter;
  /**
   * false: the events come without their metadata (`metadata` is `{}`), for
   * readers that never look at it. Metadata can be most of an event's bytes
   * (the analytics archive keeps each message's envelope there), and reading
   * and decoding it most of what a page costs. A filter: only the events that
   * pass it come with their metadata (an outbox relay that shares a page with
   * projections needs it for the events it publishes only).
   */
  withMetadata?: boolean | LogFilter;
}

export interface LogPage {
  events: RecordedEvent[];
  /**
   * Every event at or before this position has been considered: with a
   * filter, a subscriber can checkpoint here even when nothing matched.
   */
  scannedTo: number;
}

export interface SubscribeOptions {
  /** Exclusive checkpoint: delivery starts after it. */
  fromPosition: number;
  filter?: LogFilter;
  batchSize?: number;
  /** As in `readAll`. */
  withMetadata?: boolean | LogFilter;
  /**
   * Called with each page in log order, never concurrently. If it throws,
   * the subscription ends and `done` rejects with the error: the caller's
   * checkpoint decides where a new subscription resumes.
   */
  onPage: (page: LogPage) => Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves after `stop`, rejects on a handler error. */
  readonly done: Promise<void>;
}

/**
 * A unit of work: events for any number of streams, committed all or
 * nothing. Every stream the decisions read is listed with what it must still
 * look like (a stream only read comes with no events), so a decision taken on
 * a state that changed since is refused, not only a write that collides.
 */
export interface UnitToCommit {
  streams: { streamId: string; expectedRevision: ExpectedRevision }[];
  /** In the order they were decided; the global log keeps that order, across streams. */
  events: (EventToAppend & { streamId: string })[];
  /**
   * The messages whose effects these events are: recorded in the consumer's
   * inbox in the same transaction, so a redelivered message is refused
   * (`AlreadyHandledError`) instead of applied twice.
   */
  inbox?: { consumer: string; messageIds: string[] };
}

export interface CommitResult {
  /** Per stream of the unit: its revision after the commit (-1: still no stream). */
  revisions: Record<string, number>;
  /** Position of the unit's last event; undefined when it had none. */
  position: number | undefined;
}

/**
 * What an adapter promises where the port lets adapters differ; the
 * conformance suite asserts exactly what each declares (docs/guarantees.md).
 */
export interface EventStoreGuarantees {
  /**
   * true: an event id is unique in the whole log, so reusing one in another
   * stream is a `DuplicateEventIdError` (Postgres: a unique key). false: an
   * id is unique within its stream only, and the same id in another stream is
   * that stream's own event (EventStoreDB: the server keeps no global id
   * index). Within a stream every adapter refuses a reused id and absorbs a
   * retry.
   */
  eventIdsUniqueAcrossStreams: boolean;
}

export interface EventStore {
  readonly guarantees: EventStoreGuarantees;
  append(streamId: string, events: EventToAppend[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Commits a unit of work atomically. Throws `CommitConflictError` (a
   * `WrongExpectedRevisionError`, naming every stream that moved),
   * `AlreadyHandledError` when a message of `inbox` was already recorded,
   * `DuplicateEventIdError`, or `InvalidAppendError`; nothing is written then.
   * A unit whose event ids are all stored already, each in its stream, is a
   * retry of a committed unit and succeeds without writing.
   */
  commit(unit: UnitToCommit): Promise<CommitResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Several streams at once (forwards, each from its `fromRevision`, inclusive): one round trip where the adapter can. */
  readStreams(streams: { streamId: string; fromRevision?: number }[]): Promise<Map<string, RecordedEvent[]>>;
  readAll(options?: ReadAllOptions): Promise<LogPage>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** Position of the last committed event, 0 when the log is empty. */
  headPosition(): Promise<number>;
  close(): Promise<void>;
  /** Resolves once the store can serve (a remote server answered and has what the adapter needs); the service host awaits it at start-up. Optional. */
  ready?(): Promise<void>;
  /** Observes what is committed (see `PostgresEventStore.onCommitted`); returns the removal. Optional: an adapter may not offer it. */
  onCommitted?(listener: (events: readonly { streamId: string; type: string; data: unknown }[]) => void): () => void;
}

export class WrongExpectedRevisionError extends ConcurrencyError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual}`, {
      streamId,
      expected,
      actual,
    });
  }
}

/** A unit of work decided on streams that changed before it committed: every one of them, with its actual revision. */
export class CommitConflictError extends WrongExpectedRevisionError {
  constructor(readonly conflicts: { streamId: string; expected: ExpectedRevision; actual: number }[]) {
    super(conflicts[0]!.streamId, conflicts[0]!.expected, conflicts[0]!.actual);
    this.message = `${conflicts.length} stream(s) changed since they were read: ${conflicts
      .map((c) => `${c.streamId} (expected ${String(c.expected)}, actual ${c.actual})`)
      .join(', ')}`;
  }
}

/** Some messages of a unit's inbox were recorded by an earlier commit: their effects are in already. */
export class AlreadyHandledError extends ConcurrencyError {
  constructor(
    readonly consumer: string,
    readonly messageIds: string[],
  ) {
    super(`${consumer} has already handled message(s) ${messageIds.join(', ')}`, { consumer, messageIds });
  }
}

/** An event id already stored, and not as an exact retry of this append. */
export class DuplicateEventIdError extends ConcurrencyError {
  constructor(readonly streamId: string) {
    super(`stream ${streamId}: an event id of this append is already stored, and this is not a retry of that append`, {
      streamId,
    });
  }
}

export class InvalidAppendError extends ValidationError {}

export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}

/** Whether an event passes a log filter (the same rules as the adapters' filtered reads). */
export function matchesFilter(filter: LogFilter, event: Pick<RecordedEvent, 'streamId' | 'type'>): boolean {
  if (filter.categories && filter.categories.length > 0 && !filter.categories.includes(categoryOf(event.streamId))) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.streamPrefix && !event.streamId.startsWith(filter.streamPrefix)) return false;
  return true;
}
