import { ConfigError } from '../../config/config';
import { ConcurrencyError } from '../../errors/errors';
import { deterministicId } from '../../ids/deterministic-id';
import type { Inbox } from '../../inbox/inbox';
import { eventStoreMetrics } from '../../observability/metrics';
import { normaliseAppend, normaliseUnit, type NormalisedEvent, type NormalisedUnit } from '../append-validation';
import { CommitObservers, type CommitListener } from '../commit-observers';
import {
  AlreadyHandledError,
  CommitConflictError,
  DuplicateEventIdError,
  InvalidAppendError,
  WrongExpectedRevisionError,
  matchesFilter,
  type AppendOptions,
  type AppendResult,
  type CommitResult,
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
  type UnitToCommit,
} from '../event-store';
import { LogSubscription } from '../log-subscription';
import { withTraceContext } from '../trace-context';
import {
  AppendConsistencyViolationError,
  AppendRecordSizeExceededError,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDbClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_STATE,
  StreamNotFoundError,
  TimeoutError,
  TransactionMaxSizeExceededError,
  UnsupportedError,
  eventTypeFilter,
  streamNameFilter,
  type ConsistencyCheck,
  type ServerRecordedEvent,
} from './client';
import { decodeEvent, encodeEvent, type ServerEvent } from './event-layout';
import { LogDoorbell } from './log-doorbell';
import { toPortPosition, toReadPosition } from './positions';
import { fromCurrentState, mapAppendError, toStreamState } from './revisions';
import { StreamNames, streamNameRegex, typesOnlyOnServer, typesRegex } from './stream-names';

export interface EventStoreDbOptions {
  /** `EVENTSTORE_URL`, e.g. `esdb://eventstore:2113?tls=false&keepAliveInterval=10000&keepAliveTimeout=10000`. */
  url: string;
  /** `EVENTSTORE_STREAM_PREFIX`: this service's streams on a shared server (docs/eventstoredb.md §3.8). */
  streamPrefix?: string;
  /** How often a subscription reads even without a wake-up, and the doorbell's watchdog interval. */
  safetyPollMs?: number;
  /** With `any` and caller ids, how many of a stream's last events a retry is looked for in (§3.2). */
  anyRetryWindow?: number;
  /** Parallel reads for `readStreams` and inbox look-ups (gRPC has no batched read). */
  readConcurrency?: number;
}

/** An `any` append converted to an exact one retries at most this often under concurrent writers. */
const MAX_ANY_ATTEMPTS = 10;
const INBOX_EVENT_TYPE = '$MessageHandled';
/** A write whose reply timed out may or may not have happened: it is looked for, then tried again, this often. */
const MAX_UNKNOWN_OUTCOMES = 3;
/** What `appendRecords` (the v2 API) accepts as an event type, NFC-normalised; `appendToStream` takes more. */
const RECORD_TYPE = /^[\p{L}\p{N}_.$:-]+$/u;

/**
 * The EventStore port on EventStoreDB / KurrentDB ≥ 26.1 (docs/eventstoredb.md).
 *
 * - Positions are `$all` commit positions (byte offsets): increasing, not dense.
 * - `commit(unit)` is one atomic `appendRecords` call: the unit's events in
 *   decision order, a consistency check on every stream it read, and one
 *   inbox marker stream per handled message (`<prefix>inbox~<consumer>~<id>`,
 *   checked with `NO_STREAM`), so effects and inbox are all or nothing.
 * - Event ids are unique within their stream (`guarantees`); with an `any`
 *   expectation and caller ids the adapter reads the stream's tail and
 *   appends at its exact revision, which the server deduplicates.
 * - Subscriptions are read loops (`LogSubscription`) woken by a live
 *   subscription that heals itself (`LogDoorbell`).
 */
export class EventStoreDbEventStore implements EventStore, Inbox {
  readonly guarantees = { eventIdsUniqueAcrossStreams: false };
  private readonly names: StreamNames;
  private readonly scope: string;
  private readonly observers = new CommitObservers();
  private readonly subscriptions = new Set<Subscription>();
  private readonly doorbell: LogDoorbell;
  private readonly window: number;
  private readonly readConcurrency: number;
  private headFallback = false;
  private probed: Promise<void> | undefined;
  /** Identical `any` appends in flight in this process share one attempt: the server drops concurrent duplicates unanswered. */
  private readonly inFlight = new Map<string, Promise<AppendResult>>();
  private closed = false;

  private constructor(
    private readonly client: EventStoreDbClient,
    private readonly options: EventStoreDbOptions,
  ) {
    this.names = new StreamNames(options.streamPrefix ?? '');
    this.scope = streamNameRegex(this.names);
    this.window = options.anyRetryWindow ?? 32;
    this.readConcurrency = options.readConcurrency ?? 16;
    this.doorbell = new LogDoorbell(client, { scopeRegex: this.scope, head: () => this.headPosition(), watchdogMs: this.safetyPollMs });
  }

  /**
   * A store on the server at `options.url`, connecting lazily. `ready()`
   * checks that the server can keep the port's promises (the service host
   * awaits it before starting anything). A malformed URL is a `ConfigError`.
   */
  static create(options: EventStoreDbOptions): EventStoreDbEventStore {
    let client: EventStoreDbClient;
    try {
      client = EventStoreDbClient.connectionString(options.url);
    } catch (err) {
      throw new ConfigError([{ variable: 'EVENTSTORE_URL', message: `not a connection string: ${(err as Error).message}` }]);
    }
    return new EventStoreDbEventStore(client, options);
  }

  /** `create`, then `ready`: a store whose server answered and can keep the port's promises. */
  static async connect(options: EventStoreDbOptions): Promise<EventStoreDbEventStore> {
    const store = EventStoreDbEventStore.create(options);
    try {
      await store.ready();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /**
   * Resolves once the server has answered a read and shown it has
   * `appendRecords` (KurrentDB ≥ 26.1), without which no multi-stream unit
   * could commit atomically; rejects with a `ConfigError` naming
   * EVENTSTORE_URL otherwise, so the service refuses to start.
   */
  ready(): Promise<void> {
    // A failed probe is tried again by the next call (the server may be starting).
    this.probed ??= this.probe().catch((err: unknown) => {
      this.probed = undefined;
      throw err;
    });
    return this.probed;
  }

  private async probe(): Promise<void> {
    await first(this.client.readAll({ maxCount: 1, requiresLeader: true }));
    // One marker through appendRecords, in a stream the port never shows: written on the first start, refused
    // (the stream exists) on every later one. Either answer proves the method; an old server's is UnsupportedError.
    const streamName = this.names.inbox('__probe', 'appendRecords');
    try {
      await this.client.appendRecords(
        [{ streamName, record: encodeEvent({ id: deterministicId('probe', streamName), type: INBOX_EVENT_TYPE, schemaVersion: 1, data: {}, metadata: {} }) }],
        [{ type: STREAM_STATE, streamName, expectedState: NO_STREAM }],
      );
    } catch (err) {
      if (err instanceof AppendConsistencyViolationError) return;
      if (err instanceof UnsupportedError) {
        throw new ConfigError([
          { variable: 'EVENTSTORE_URL', message: `the server is older than KurrentDB ${err.minimumVersion}, which ${err.feature} (atomic units of work) needs` },
        ]);
      }
      throw err;
    }
  }

  private get safetyPollMs(): number {
    return this.options.safetyPollMs ?? 2_000;
  }

  onCommitted(listener: CommitListener): () => void {
    return this.observers.add(listener);
  }

  // ---- appends -----------------------------------------------------------

  async append(streamId: string, events: EventToAppend[], options: AppendOptions = {}): Promise<AppendResult> {
    const request = normaliseAppend(streamId, withTraceContext(events), options.expectedRevision ?? 'any');
    this.assertOpen();
    const callerIds = Array.isArray(events) && events.some((e) => e?.id !== undefined);
    const timer = eventStoreMetrics.appendDuration.startTimer({ operation: 'append' });
    try {
      const result =
        request.expected === 'any' && callerIds
          ? await this.appendAtTail(request.streamId, request.events)
          : await this.appendExpecting(request.streamId, request.events, request.expected);
      timer({ result: 'ok' });
      return result;
    } catch (err) {
      timer({ result: err instanceof ConcurrencyError ? 'conflict' : 'error' });
      throw err;
    }
  }

  /**
   * One `appendToStream` with the port's expectation; the server absorbs an
   * exact retry. A reply that timed out leaves the outcome unknown: the
   * events are looked for where the expectation put them (their ids are
   * fixed for this call), and the append is tried again if they are not there.
   */
  private async appendExpecting(streamId: string, events: NormalisedEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      let result;
      try {
        result = await this.client.appendToStream(this.names.of(streamId), events.map(encodeEvent), { streamState: toStreamState(expected), requiresLeader: true });
      } catch (err) {
        if (outcomeUnknown(err) && attempt < MAX_UNKNOWN_OUTCOMES) {
          const stored = await this.storedRun(streamId, events, expected);
          if (stored) return this.appended(streamId, events, { nextExpectedRevision: stored.revision, position: stored.position });
          continue;
        }
        throw mapAppendError(err, streamId, expected);
      }
      const nextExpectedRevision = Number(result.nextExpectedRevision);
      // The reply's position is the last event's (commit = prepare); an idempotent retry's reply may carry none.
      const position =
        events.length === 1 && result.position ? toPortPosition(result.position) : (await this.eventAt(streamId, nextExpectedRevision)).position;
      return this.appended(streamId, events, { nextExpectedRevision, position });
    }
  }

  private appended(streamId: string, events: readonly NormalisedEvent[], result: AppendResult): AppendResult {
    this.observers.committed(events.map((e) => ({ streamId, type: e.type, data: e.data })));
    return result;
  }

  /**
   * `any` with caller ids: the server deduplicates only exact expectations,
   * so read the stream's tail, answer a retry from it, refuse ids it holds
   * otherwise, and append at its exact revision (again on a race).
   */
  private appendAtTail(streamId: string, events: NormalisedEvent[]): Promise<AppendResult> {
    const key = `${streamId}\n${events.map((e) => e.id).join(',')}`;
    let attempt = this.inFlight.get(key);
    if (!attempt) {
      attempt = this.appendAtTailOnce(streamId, events).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, attempt);
    }
    return attempt;
  }

  private async appendAtTailOnce(streamId: string, events: NormalisedEvent[]): Promise<AppendResult> {
    for (let attempt = 1; attempt <= MAX_ANY_ATTEMPTS; attempt++) {
      const tail = await this.tailOf(streamId, events);
      if (tail.stored) return { nextExpectedRevision: tail.stored.revision, position: tail.stored.position };
      try {
        return await this.appendExpecting(streamId, events, tail.revision < 0 ? 'no_stream' : tail.revision);
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
      }
    }
    // A stream this hot keeps moving under every exact attempt; `any` never conflicts, so append as `any`
    // (a retry of this very call is then deduplicated only by the server's cache of recent ids).
    return this.appendExpecting(streamId, events, 'any');
  }

  /**
   * A stream's last events seen from a batch about to be appended with `any`:
   * its revision, and whether the batch is stored already as one run (a
   * retry: the run's last event). Some but not all of the ids, or out of
   * order, is a `DuplicateEventIdError`.
   */
  private async tailOf(streamId: string, events: readonly NormalisedEvent[]): Promise<{ revision: number; stored?: RecordedEvent }> {
    const recent = (await this.readStream(streamId, { direction: 'backwards', maxCount: events.length + this.window })).reverse();
    const revision = recent.length === 0 ? -1 : recent[recent.length - 1]!.revision;
    const at = new Map(recent.map((e, i) => [e.id, i]));
    const found = events.filter((e) => at.has(e.id)).length;
    if (found === 0) return { revision };
    const first = at.get(events[0]!.id);
    const run = first !== undefined && events.every((e, i) => recent[first + i]?.id === e.id);
    if (found === events.length && run) return { revision, stored: recent[first + events.length - 1] };
    throw new DuplicateEventIdError(streamId);
  }

  /**
   * One atomic write for the unit (docs/eventstoredb.md §3.3). A unit with
   * one stream and no inbox is a plain append; a unit with nothing to write
   * only checks its expectations.
   */
  async commit(unit: UnitToCommit): Promise<CommitResult> {
    const u = normaliseUnit({ ...unit, events: withTraceContext(unit.events) });
    this.assertOpen();
    const timer = eventStoreMetrics.appendDuration.startTimer({ operation: 'commit' });
    try {
      const result = await this.commitNormalised(u, Array.isArray(unit.events) && unit.events.some((e) => e?.id !== undefined));
      timer({ result: 'ok' });
      return result;
    } catch (err) {
      timer({ result: err instanceof ConcurrencyError ? 'conflict' : 'error' });
      throw err;
    }
  }

  private async commitNormalised(u: NormalisedUnit, callerIds: boolean): Promise<CommitResult> {
    if (u.events.length === 0 && !u.inbox) return this.checkOnly(u);
    if (u.events.length === 0 && u.inbox) {
      // Only inbox markers to write, each with a deterministic id: the server would absorb a second unit as a
      // retry of the first, so a message handled already is looked for first.
      const handled = await this.handled(u.inbox.consumer, u.inbox.messageIds);
      if (handled.size > 0) throw new AlreadyHandledError(u.inbox.consumer, u.inbox.messageIds.filter((id) => handled.has(id)));
    }
    if (u.streams.length === 1 && !u.inbox) {
      const [{ streamId, expected }] = u.streams as [NormalisedUnit['streams'][number]];
      const result =
        expected === 'any' && callerIds ? await this.appendAtTail(streamId, u.events) : await this.appendExpecting(streamId, u.events, expected);
      return { revisions: { [streamId]: result.nextExpectedRevision }, position: result.position };
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.appendUnit(u, callerIds);
      if (outcome.done) return outcome.done;
      if (attempt >= MAX_ANY_ATTEMPTS) {
        if (outcome.convertedConflicts.length > 0) throw new CommitConflictError(outcome.convertedConflicts);
        throw new Error(`EventStoreDB left a unit of work unanswered ${MAX_ANY_ATTEMPTS} times, and it is not stored`);
      }
    }
  }

  /**
   * One attempt of a unit through `appendRecords`. `any` streams written
   * with caller ids are checked at their exact tail (so a retry is not
   * written twice); a conflict on such a check alone is the caller's to try
   * again, as the port promises `any` never conflicts.
   */
  private async appendUnit(
    u: NormalisedUnit,
    callerIds: boolean,
  ): Promise<{ done: CommitResult; convertedConflicts?: never } | { done?: never; convertedConflicts: ConstructorParameters<typeof CommitConflictError>[0] }> {
    const eventsOf = u.streams.map((_, i) => u.events.filter((e) => e.stream === i));
    for (const e of u.events) {
      if (!RECORD_TYPE.test(e.type) || e.type.normalize('NFC') !== e.type) {
        throw new InvalidAppendError(`event type ${e.type}: a unit of work on EventStoreDB takes letters, digits and _ . $ : - only (NFC)`, { field: 'events' });
      }
    }
    const checks: ConsistencyCheck[] = [];
    /** Per server stream name: the unit's stream it checks, and whether the check stands for an `any` made exact. */
    const checked = new Map<string, { stream: number; converted: boolean }>();
    const stored: (RecordedEvent | undefined)[] = [];
    for (const [i, s] of u.streams.entries()) {
      if (s.expected === 'any' && callerIds && eventsOf[i]!.length > 0) {
        const tail = await this.tailOf(s.streamId, eventsOf[i]!);
        stored[i] = tail.stored;
        checks.push({ type: STREAM_STATE, streamName: this.names.of(s.streamId), expectedState: tail.revision < 0 ? NO_STREAM : BigInt(tail.revision) });
        checked.set(this.names.of(s.streamId), { stream: i, converted: true });
      } else if (s.expected !== 'any') {
        checks.push({ type: STREAM_STATE, streamName: this.names.of(s.streamId), expectedState: toStreamState(s.expected) });
        checked.set(this.names.of(s.streamId), { stream: i, converted: false });
      }
    }
    const storedCount = stored.filter(Boolean).length;
    if (storedCount > 0) {
      // Some `any` streams hold their part of the unit already: a retry if every stream does, else a reuse of ids.
      const retry = await this.storedResult(u);
      if (retry) return { done: retry };
      throw new DuplicateEventIdError(u.streams[stored.findIndex(Boolean)]!.streamId);
    }
    const inboxRecords = (u.inbox?.messageIds ?? []).map((id) => {
      const streamName = this.names.inbox(u.inbox!.consumer, id);
      checks.push({ type: STREAM_STATE, streamName, expectedState: NO_STREAM });
      return {
        streamName,
        record: encodeEvent({
          id: deterministicId('inbox', u.inbox!.consumer, id),
          type: INBOX_EVENT_TYPE,
          schemaVersion: 1,
          data: { consumer: u.inbox!.consumer, messageId: id },
          metadata: {},
        }),
      };
    });
    // appendRecords groups records by stream name ignoring case: two names that differ only in case would merge.
    const byFold = new Map<string, string>();
    for (const name of [...u.streams.map((st) => this.names.of(st.streamId)), ...inboxRecords.map((r) => r.streamName)]) {
      const other = byFold.get(name.toUpperCase());
      if (other !== undefined && other !== name) {
        throw new InvalidAppendError(`streams ${other} and ${name} differ only in case, which one EventStoreDB unit of work cannot tell apart`, { field: 'streams' });
      }
      byFold.set(name.toUpperCase(), name);
    }
    // Inbox markers first, so that the unit's last record is its last event.
    const records = [...inboxRecords, ...u.events.map((e) => ({ streamName: this.names.of(u.streams[e.stream]!.streamId), record: encodeEvent(e) }))];
    let written;
    try {
      written = await this.client.appendRecords(records, checks);
    } catch (err) {
      if (err instanceof AppendConsistencyViolationError) {
        const inboxPrefix = this.names.inbox(u.inbox?.consumer ?? '', '');
        const handled = u.inbox ? err.violations.filter((v) => v.streamName.startsWith(inboxPrefix)).map((v) => v.streamName.slice(inboxPrefix.length)) : [];
        if (handled.length > 0) throw new AlreadyHandledError(u.inbox!.consumer, handled);
        const retry = await this.storedResult(u);
        if (retry) return { done: retry };
        const conflicts = err.violations.map((v) => {
          const check = checked.get(v.streamName);
          const streamId = check ? u.streams[check.stream]!.streamId : (this.names.strip(v.streamName) ?? v.streamName);
          const expected = check ? u.streams[check.stream]!.expected : 'any';
          return { streamId, expected, actual: fromCurrentState(v.actualState), converted: check?.converted ?? false };
        });
        const real = conflicts.filter((c) => !c.converted);
        if (real.length > 0) throw new CommitConflictError(real.map(({ converted: _, ...c }) => c));
        return { convertedConflicts: conflicts.map(({ converted: _, ...c }) => c) };
      }
      if (outcomeUnknown(err)) {
        // The reply timed out: a unit that is stored now is done; one that is not is tried again by the caller's loop.
        const retry = await this.storedResult(u);
        if (retry) return { done: retry };
        return { convertedConflicts: [] };
      }
      throw mapUnitError(err, u.streams[0]!.streamId);
    }
    const revisions: Record<string, number> = {};
    for (const r of written.responses) {
      const id = this.names.strip(r.streamName);
      if (id !== undefined) revisions[id] = Number(r.revision);
    }
    for (const s of u.streams) if (!(s.streamId in revisions)) revisions[s.streamId] = await this.revisionAfterCheck(s.streamId, s.expected);
    let position: number | undefined;
    if (u.events.length > 0) {
      const last = u.events[u.events.length - 1]!;
      const streamId = u.streams[last.stream]!.streamId;
      position = (await this.eventAt(streamId, revisions[streamId]!)).position;
      this.observers.committed(u.events.map((e) => ({ streamId: u.streams[e.stream]!.streamId, type: e.type, data: e.data })));
    }
    return { done: { revisions, position } };
  }

  /** A unit with no events and no inbox: its expectations checked against the streams as they are now. */
  private async checkOnly(u: NormalisedUnit): Promise<CommitResult> {
    const revisions: Record<string, number> = {};
    const conflicts: ConstructorParameters<typeof CommitConflictError>[0] = [];
    const current = await this.currentRevisions(u.streams.map((s) => s.streamId));
    for (const [i, s] of u.streams.entries()) {
      revisions[s.streamId] = current[i]!;
      if (!expectationMet(s.expected, current[i]!)) conflicts.push({ streamId: s.streamId, expected: s.expected, actual: current[i]! });
    }
    if (conflicts.length > 0) throw new CommitConflictError(conflicts);
    return { revisions, position: undefined };
  }

  /**
   * The result of a committed unit whose retry this is, or undefined: every
   * stream holds its events as one run where its expectation put them.
   */
  private async storedResult(u: NormalisedUnit): Promise<CommitResult | undefined> {
    if (u.events.length === 0) return undefined;
    const revisions: Record<string, number> = {};
    let position = 0;
    for (const [i, s] of u.streams.entries()) {
      const mine = u.events.filter((e) => e.stream === i);
      if (mine.length === 0) {
        revisions[s.streamId] = (await this.currentRevisions([s.streamId]))[0]!;
        continue;
      }
      const last = await this.storedRun(s.streamId, mine, s.expected);
      if (!last) return undefined;
      revisions[s.streamId] = last.revision;
      position = Math.max(position, last.position);
    }
    return { revisions, position };
  }

  /**
   * The last event of `events` if the stream holds them all, in order, as one
   * run where `expected` put them (for `any` and `stream_exists`: among its
   * last events); else undefined.
   */
  private async storedRun(streamId: string, events: readonly Pick<NormalisedEvent, 'id'>[], expected: ExpectedRevision): Promise<RecordedEvent | undefined> {
    const candidates =
      typeof expected === 'number' || expected === 'no_stream'
        ? await this.readStream(streamId, { fromRevision: expected === 'no_stream' ? 0 : expected + 1, maxCount: events.length })
        : (await this.readStream(streamId, { direction: 'backwards', maxCount: events.length + this.window })).reverse();
    const start = candidates.findIndex((e) => e.id === events[0]!.id);
    if (start < 0 || !events.every((e, k) => candidates[start + k]?.id === e.id)) return undefined;
    return candidates[start + events.length - 1];
  }

  /** A stream's revision after a successful check that wrote nothing to it. */
  private async revisionAfterCheck(streamId: string, expected: ExpectedRevision): Promise<number> {
    if (typeof expected === 'number') return expected;
    if (expected === 'no_stream') return -1;
    return (await this.currentRevisions([streamId]))[0]!;
  }

  private async currentRevisions(streamIds: readonly string[]): Promise<number[]> {
    return mapLimited(streamIds, this.readConcurrency, async (id) => {
      const [last] = await this.readStream(id, { direction: 'backwards', maxCount: 1 });
      return last?.revision ?? -1;
    });
  }

  private async eventAt(streamId: string, revision: number): Promise<RecordedEvent> {
    const [event] = await this.readStream(streamId, { fromRevision: revision, maxCount: 1 });
    if (!event || event.revision !== revision) throw new Error(`stream ${streamId}: the event at revision ${revision} just written cannot be read back`);
    return event;
  }

  // ---- reads -------------------------------------------------------------

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    // Ids the port cannot store hold nothing (as on Postgres), and must not reach a system stream.
    if (typeof streamId !== 'string' || streamId === '' || streamId.startsWith('$') || streamId.startsWith(StreamNames.INBOX)) return [];
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const backwards = options.direction === 'backwards';
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(this.names.of(streamId), {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision),
        maxCount: options.maxCount ?? Number.MAX_SAFE_INTEGER,
        requiresLeader: true,
      })) {
        const event = this.decode(resolved.event, true);
        if (event) out.push(event);
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
    return out;
  }

  async readStreams(streams: { streamId: string; fromRevision?: number }[]): Promise<Map<string, RecordedEvent[]>> {
    const read = await mapLimited(streams, this.readConcurrency, (s) => this.readStream(s.streamId, { fromRevision: s.fromRevision ?? 0 }));
    return new Map(streams.map((s, i) => [s.streamId, read[i]!]));
  }

  /** The inbox: a message is handled when its marker stream exists (written by `commit` with its effects). */
  async handled(consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
    const found = await mapLimited(messageIds, this.readConcurrency, async (id) => {
      try {
        return (await first(this.client.readStream(this.names.inbox(consumer, id), { maxCount: 1, requiresLeader: true }))) !== undefined;
      } catch (err) {
        if (err instanceof StreamNotFoundError) return false;
        throw err;
      }
    });
    return new Set(messageIds.filter((_, i) => found[i]));
  }

  /**
   * A page of the log after `fromPosition` (docs/eventstoredb.md §3.5). The
   * head is read first: one log with one writer shows a reader every event up
   * to it, so a short page has considered everything up to the head.
   */
  async readAll(options: ReadAllOptions = {}): Promise<LogPage> {
    const from = options.fromPosition ?? 0;
    const limit = options.maxCount ?? 1_000;
    const head = await this.headPosition();
    if (limit <= 0) return { events: [], scannedTo: from };
    const filter = options.filter;
    const onServer = this.serverFilter(filter);
    const meta = options.withMetadata;
    const events: RecordedEvent[] = [];
    let cursor = from;
    for (;;) {
      const want = limit - events.length;
      let read = 0;
      // One more than wanted: a read from a position may include the event at it.
      for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition: readFrom(cursor), maxCount: want + 1, filter: onServer, requiresLeader: true })) {
        read++;
        const raw = resolved.event;
        if (!raw?.position) continue;
        const streamId = this.names.strip(raw.streamId);
        const withMetadata = meta === undefined || meta === true || (typeof meta === 'object' && streamId !== undefined && matchesFilter(meta, { streamId, type: raw.type }));
        const event = this.decode(raw, withMetadata);
        if (!event || event.position <= cursor) continue;
        cursor = event.position;
        if (filter && !matchesFilter(filter, event)) continue;
        events.push(event);
        if (events.length >= limit) return { events, scannedTo: event.position };
      }
      // A server page shorter than asked reached the end of the log as of the read, which is at or past the head.
      if (read <= want) return { events, scannedTo: Math.max(cursor, head, from) };
    }
  }

  /** The server-side part of a filter: the stream-name regex, or the types alone where names need no filtering (§3.8). */
  private serverFilter(filter: LogFilter | undefined) {
    if (typesOnlyOnServer(this.names, filter)) return eventTypeFilter({ regex: typesRegex(filter!.types!) });
    return streamNameFilter({ regex: streamNameRegex(this.names, filter) });
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const sub = new LogSubscription(this, this.doorbell, options, this.safetyPollMs);
    this.subscriptions.add(sub);
    void sub.done.catch(() => undefined).finally(() => this.subscriptions.delete(sub));
    return sub;
  }

  /** The last event of this store's scope (its prefix; no inbox or system streams), 0 when there is none. */
  async headPosition(): Promise<number> {
    if (!this.headFallback) {
      try {
        for await (const resolved of this.client.readAll({
          direction: BACKWARDS,
          fromPosition: END,
          maxCount: 1,
          filter: streamNameFilter({ regex: this.scope }),
          requiresLeader: true,
        })) {
          if (resolved.event?.position) return toPortPosition(resolved.event.position);
        }
        return 0;
      } catch (err) {
        // A server that refuses filtered backwards reads of $all: scan backwards unfiltered instead, from now on.
        if (!isUnsupportedFilter(err)) throw err;
        this.headFallback = true;
      }
    }
    return this.headByScan();
  }

  private async headByScan(): Promise<number> {
    let from: typeof END | { commit: bigint; prepare: bigint } = END;
    for (;;) {
      let read = 0;
      const page = this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: 64, requiresLeader: true });
      for await (const resolved of page) {
        read++;
        const e: ServerRecordedEvent | undefined = resolved.event;
        if (!e?.position) continue;
        from = e.position;
        if (this.names.strip(e.streamId) !== undefined) return toPortPosition(e.position);
      }
      if (read < 64) return 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.doorbell.stop();
    await this.client.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('event store is closed');
  }

  private decode(event: ServerRecordedEvent | undefined, withMetadata: boolean): RecordedEvent | undefined {
    if (!event) return undefined;
    return decodeEvent(event as ServerEvent, this.names, withMetadata);
  }
}

/** A write whose reply never came (the server drops a concurrent duplicate of a write in progress unanswered). */
function outcomeUnknown(err: unknown): boolean {
  return err instanceof DeadlineExceededError || err instanceof TimeoutError;
}

function expectationMet(expected: ExpectedRevision, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return actual === expected;
}

/** Where a server read starts for the port's exclusive position (see `toReadPosition`). */
function readFrom(position: number) {
  const at = toReadPosition(position);
  return at === 'start' ? START : at;
}

/** The first item of a read, consuming no more. */
async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

function mapUnitError(err: unknown, streamId: string): unknown {
  if (err instanceof TransactionMaxSizeExceededError) {
    return new InvalidAppendError(`unit: ${err.size} bytes, larger than the server's transaction limit of ${err.maxSize}`, { field: 'unit' });
  }
  if (err instanceof AppendRecordSizeExceededError) {
    return new InvalidAppendError(`events: an event of ${err.size} bytes, larger than the server's record limit of ${err.maxSize}`, { field: 'events' });
  }
  return mapAppendError(err, streamId, 'any');
}

function isUnsupportedFilter(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  return err instanceof UnsupportedError || /filter/i.test(message);
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

