import type { Decider, EventStore, RecordedEvent } from '@shop/platform';

const SNAPSHOT = '$snapshot';

interface Snapshot<State> {
  /** Revision of the last event folded in; -1 for a stream with no events. */
  revision: number;
  state: State;
}

type SnapshotEvent<State> = { type: typeof SNAPSHOT; state: State };

/**
 * Keeps the folded state of recently used streams in memory, so that loading
 * a stream reads only the events appended since the last load (one short
 * query) instead of its whole history: a SKU with thousands of reservations
 * costs the same to decide on as a fresh one.
 *
 * `store` and `decider` plug into the platform's `executeCommand`: reading a
 * stream yields a single synthetic event, carrying the state, at the
 * stream's real last revision. So the decision is still made against the
 * stream's current revision, and the append still expects exactly that
 * revision: a write by another process since the snapshot is read on the
 * next load, or makes the append conflict and `executeCommand` reload.
 * Streams only grow, so a cached prefix never goes stale.
 */
export class StreamSnapshots<State, Event extends { type: string }> {
  private readonly cache = new Map<string, Snapshot<State>>();
  readonly store: EventStore;
  readonly decider: Decider<State, Event>;

  constructor(
    private readonly inner: EventStore,
    private readonly base: Decider<State, Event>,
    private readonly maxStreams = 10_000,
  ) {
    const readStream: EventStore['readStream'] = async (streamId, options) => {
      if (options) return inner.readStream(streamId, options);
      const snap = await this.load(streamId);
      if (snap.revision < 0) return [];
      const event: RecordedEvent = {
        id: SNAPSHOT,
        streamId,
        revision: snap.revision,
        position: 0,
        type: SNAPSHOT,
        schemaVersion: 1,
        data: { state: snap.state },
        metadata: {},
        recordedAt: new Date(0),
      };
      return [event];
    };
    this.store = {
      append: (...args) => inner.append(...args),
      readStream,
      readAll: (...args) => inner.readAll(...args),
      subscribeToAll: (...args) => inner.subscribeToAll(...args),
      headPosition: () => inner.headPosition(),
      close: () => inner.close(),
    };
    this.decider = {
      initialState: base.initialState,
      evolve: (state, event) => {
        const e = event as Event | SnapshotEvent<State>;
        return e.type === SNAPSHOT ? (e as SnapshotEvent<State>).state : base.evolve(state, e as Event);
      },
    };
  }

  /** The stream's state and revision, reading only what was appended since the cached snapshot. */
  async load(streamId: string): Promise<Snapshot<State>> {
    const cached = this.cache.get(streamId) ?? { revision: -1, state: this.base.initialState };
    const newer = await this.inner.readStream(streamId, { fromRevision: cached.revision + 1 });
    let state = cached.state;
    for (const e of newer) state = this.base.evolve(state, { type: e.type, ...(e.data as object) } as unknown as Event);
    const snap = { revision: newer.length > 0 ? newer[newer.length - 1]!.revision : cached.revision, state };
    const current = this.cache.get(streamId);
    if (!current || current.revision <= snap.revision) {
      // Re-inserting keeps the Map in least-recently-used order for eviction.
      this.cache.delete(streamId);
      this.cache.set(streamId, snap);
      if (this.cache.size > this.maxStreams) this.cache.delete(this.cache.keys().next().value!);
    }
    return snap;
  }
}
