import {
  CommitConflictError,
  type CommitResult,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type RecordedEvent,
} from './event-store';
import type { EventCodec } from './event-codec';

/**
 * What a stream folds into: the state before any event, how each event
 * changes it (the `initialState` and `evolve` of a decider), and the codec
 * that reads its stored events back as domain events, validated.
 */
export interface Aggregate<State, Event extends { type: string }> {
  initialState: State;
  evolve(state: State, event: Event): State;
  codec: EventCodec<Event>;
}

export function foldEvents<State, Event extends { type: string }>(aggregate: Aggregate<State, Event>, state: State, events: readonly RecordedEvent[]): State {
  let s = state;
  for (const e of events) s = aggregate.evolve(s, aggregate.codec.decode(e));
  return s;
}

interface Cached {
  aggregate: object;
  revision: number;
  state: unknown;
}

/**
 * The folded state of recently used streams, per aggregate, at a known
 * revision, so a unit of work loads a stream it has seen without reading it.
 * A cached state is never trusted blindly: the unit that uses it commits with
 * that revision as its expectation, so if another writer moved the stream,
 * the commit is refused, the entry dropped, and the retry reads the stream.
 * Least recently used entries go first once `maxStreams` is reached.
 */
export class StreamStateCache {
  private readonly entries = new Map<string, Cached>();

  constructor(private readonly maxStreams = 20_000) {}

  get(streamId: string, aggregate: object): { revision: number; state: unknown } | undefined {
    const e = this.entries.get(streamId);
    if (!e || e.aggregate !== aggregate) return undefined;
    // Re-inserting keeps the map in least-recently-used order.
    this.entries.delete(streamId);
    this.entries.set(streamId, e);
    return e;
  }

  set(streamId: string, aggregate: object, revision: number, state: unknown): void {
    const current = this.entries.get(streamId);
    if (current && current.aggregate === aggregate && current.revision > revision) return;
    this.entries.delete(streamId);
    this.entries.set(streamId, { aggregate, revision, state });
    if (this.entries.size > this.maxStreams) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  get size(): number {
    return this.entries.size;
  }
}

interface StreamInWork {
  aggregate: Aggregate<unknown, { type: string }>;
  /** Revision the stream was read at (-1: no stream). The commit expects it still. */
  baseRevision: number;
  state: unknown;
  staged: number;
  /** Events were recorded (not decided) here: the folded state does not include them. */
  recorded?: boolean;
}

export interface StageOptions {
  /** The id of the i-th event staged by this call; random when absent. */
  eventId?: (index: number) => string;
  metadata?: EventMetadata;
  schemaVersion?: number;
}

/**
 * Decisions over several streams, committed together (`EventStore.commit`).
 *
 * `load` reads the streams it is asked for; loads requested in the same turn
 * of the event loop go out as one query, and streams in the cache are not read
 * at all. `execute` decides on the state as it is at that moment, including
 * what earlier decisions of this unit staged, and stages the events; nothing
 * reaches the store before `commit`. Code that reads a state (`stateOf`) and
 * stages (`append`) must not await in between, so two decisions interleaved
 * in one unit each see the other's effect (JavaScript runs one at a time).
 *
 * The commit lists every stream loaded with the revision it was read at:
 * decisions made on a state someone changed meanwhile are refused as a whole
 * (`CommitConflictError`), their cache entries dropped, and the caller runs
 * them again in a new unit.
 */
export class UnitOfWork {
  private readonly streams = new Map<string, StreamInWork>();
  /** Streams recorded to without being loaded (`record`): committed with expected revision `any`. */
  private readonly blind = new Set<string>();
  private readonly events: (EventToAppend & { streamId: string })[] = [];
  private pending = new Map<
    string,
    { aggregate: Aggregate<unknown, { type: string }>; base?: { revision: number; state: unknown }; waiters: { resolve: () => void; reject: (e: unknown) => void }[] }
  >();
  private scheduled = false;
  /** Round trips to the store for loads (a measure of how well loads batch). */
  reads = 0;
  /** Some state came from the cache unread: until the commit checks it, it may be stale. */
  usedCache = false;

  constructor(
    private readonly store: Pick<EventStore, 'readStreams' | 'commit'>,
    private readonly cache?: StreamStateCache,
    /**
     * Also read the events appended after a cached state (one query for all):
     * for reads that must be current without committing anything (the
     * commit is what checks a cached state otherwise).
     */
    private readonly options: { refreshCached?: boolean } = {},
  ) {}

  /** Loads the stream (once per unit) and returns its state as this unit sees it now. */
  async load<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>): Promise<State> {
    if (!this.streams.has(streamId)) await this.request(streamId, aggregate as Aggregate<unknown, { type: string }>);
    return this.stateOf(streamId, aggregate);
  }

  /** Loads several streams in one go. */
  async loadAll(streams: { streamId: string; aggregate: Aggregate<unknown, { type: string }> }[]): Promise<void> {
    await Promise.all(streams.map((s) => (this.streams.has(s.streamId) ? undefined : this.request(s.streamId, s.aggregate))));
  }

  /** The current state of a loaded stream (synchronous: see the class comment). */
  stateOf<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>): State {
    const s = this.streams.get(streamId);
    if (!s) throw new Error(`stream ${streamId} is not loaded in this unit of work`);
    if (s.aggregate !== (aggregate as unknown)) throw new Error(`stream ${streamId} was loaded as another aggregate`);
    return s.state as State;
  }

  /** The revision the stream will have once this unit commits (-1: no stream). */
  revisionOf(streamId: string): number {
    const s = this.streams.get(streamId);
    if (!s) throw new Error(`stream ${streamId} is not loaded in this unit of work`);
    return s.baseRevision + s.staged;
  }

  /** Stages events on a loaded stream and folds them into its state; returns the new state. */
  append<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>, events: readonly Event[], options: StageOptions = {}): State {
    let state = this.stateOf(streamId, aggregate);
    const s = this.streams.get(streamId)!;
    events.forEach((event, i) => {
      const { type, ...data } = event;
      this.events.push({
        streamId,
        type,
        data,
        schemaVersion: options.schemaVersion ?? 1,
        ...(options.eventId ? { id: options.eventId(i) } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      });
      state = aggregate.evolve(state, event);
    });
    s.state = state;
    s.staged += events.length;
    return state;
  }

  /**
   * Stages events on a stream without deciding on its state (expected
   * revision `any`, unless the unit also loaded the stream): facts recorded
   * as they come, like an archive of messages. The events keep their own ids
   * (a retried record of the same id is then absorbed by the store).
   */
  record(streamId: string, events: readonly EventToAppend[]): void {
    if (!this.streams.has(streamId)) this.blind.add(streamId);
    for (const e of events) this.events.push({ ...e, streamId });
    const s = this.streams.get(streamId);
    if (s) {
      // A loaded stream's state no longer matches its revision: keep it out of the cache.
      s.staged += events.length;
      s.recorded = true;
    }
  }

  /** Load, decide on the current state, stage what was decided. */
  async execute<State, Event extends { type: string }>(
    streamId: string,
    aggregate: Aggregate<State, Event>,
    decide: (state: State) => readonly Event[],
    options: StageOptions = {},
  ): Promise<{ state: State; events: readonly Event[] }> {
    await this.load(streamId, aggregate);
    // No await from here to the append: the decision and its staging are one step.
    const events = decide(this.stateOf(streamId, aggregate));
    const state = events.length > 0 ? this.append(streamId, aggregate, events, options) : this.stateOf(streamId, aggregate);
    return { state, events };
  }

  /** Events staged so far. */
  get staged(): number {
    return this.events.length;
  }

  /**
   * Commits everything staged, with every loaded stream's revision as its
   * expectation and, optionally, the inbox record of the messages handled.
   * On success the cache learns the new states; on a conflict it forgets the
   * streams that moved.
   */
  async commit(options: { inbox?: { consumer: string; messageIds: string[] } } = {}): Promise<CommitResult> {
    if (this.pending.size > 0) throw new Error('cannot commit while loads are in flight');
    const streams = [
      ...[...this.streams].map(([streamId, s]) => ({
        streamId,
        expectedRevision: (s.baseRevision < 0 ? 'no_stream' : s.baseRevision) as ExpectedRevision,
      })),
      ...[...this.blind].filter((id) => !this.streams.has(id)).map((streamId) => ({ streamId, expectedRevision: 'any' as ExpectedRevision })),
    ];
    if (this.events.length === 0 && !options.inbox?.messageIds.length) {
      // Nothing to write, but a decision to do nothing is a decision too: one
      // taken on a cached state is checked by a read (no lock, no transaction).
      if (this.usedCache) await this.checkCachedReads();
      return { revisions: Object.fromEntries([...this.streams].map(([id, s]) => [id, s.baseRevision])), position: undefined };
    }
    let result: CommitResult;
    try {
      result = await this.store.commit({ streams, events: this.events, ...(options.inbox ? { inbox: options.inbox } : {}) });
    } catch (err) {
      if (err instanceof CommitConflictError) for (const c of err.conflicts) this.cache?.delete(c.streamId);
      throw err;
    }
    if (this.cache) {
      for (const [streamId, s] of this.streams) {
        const revision = result.revisions[streamId];
        if (revision === s.baseRevision + s.staged && !s.recorded) this.cache.set(streamId, s.aggregate, revision, s.state);
        else this.cache.delete(streamId);
      }
    }
    return result;
  }

  /** Refuses, as a commit would, a unit whose loaded streams moved since they were read. */
  private async checkCachedReads(): Promise<void> {
    const loaded = [...this.streams].filter(([, s]) => !s.recorded);
    if (loaded.length === 0) return;
    const later = await this.store.readStreams(loaded.map(([streamId, s]) => ({ streamId, fromRevision: s.baseRevision + 1 })));
    const conflicts = loaded.flatMap(([streamId, s]) => {
      const events = later.get(streamId) ?? [];
      if (events.length === 0) return [];
      const expected = (s.baseRevision < 0 ? 'no_stream' : s.baseRevision) as ExpectedRevision;
      return [{ streamId, expected, actual: events[events.length - 1]!.revision }];
    });
    if (conflicts.length === 0) return;
    for (const c of conflicts) this.cache?.delete(c.streamId);
    throw new CommitConflictError(conflicts);
  }

  /** Forgets what this unit read from the cache (after a failure whose cause is unknown). */
  forgetCached(): void {
    for (const streamId of this.streams.keys()) this.cache?.delete(streamId);
  }

  private request(streamId: string, aggregate: Aggregate<unknown, { type: string }>): Promise<void> {
    const cached = this.cache?.get(streamId, aggregate);
    if (cached && !this.options.refreshCached) {
      this.usedCache = true;
      this.streams.set(streamId, { aggregate, baseRevision: cached.revision, state: cached.state, staged: 0 });
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const p = this.pending.get(streamId);
      if (p) {
        p.waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(streamId, { aggregate, ...(cached ? { base: cached } : {}), waiters: [{ resolve, reject }] });
      if (!this.scheduled) {
        this.scheduled = true;
        // Every load asked for in this turn of the event loop goes in one query.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.reads++;
      const read = await this.store.readStreams([...batch].map(([streamId, p]) => ({ streamId, fromRevision: p.base ? p.base.revision + 1 : 0 })));
      for (const [streamId, { aggregate, base, waiters }] of batch) {
        if (!this.streams.has(streamId)) {
          const events = read.get(streamId) ?? [];
          const revision = events.length > 0 ? events[events.length - 1]!.revision : (base?.revision ?? -1);
          const state = foldEvents(aggregate, base ? base.state : aggregate.initialState, events);
          this.streams.set(streamId, { aggregate, baseRevision: revision, state, staged: 0 });
          if (base && events.length > 0) this.cache?.set(streamId, aggregate, revision, state);
        }
        for (const w of waiters) w.resolve();
      }
    } catch (err) {
      for (const { waiters } of batch.values()) for (const w of waiters) w.reject(err);
    }
  }
}
