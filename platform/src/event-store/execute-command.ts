import { WrongExpectedRevisionError, type AppendResult, type EventMetadata, type EventStore, type EventToAppend } from './event-store';
import type { Decider } from './decider';
import { foldEvents, type StreamStateCache } from './unit-of-work';

export interface ExecuteCommandOptions<Command, State, Event extends { type: string }> {
  store: EventStore;
  streamId: string;
  decider: Decider<Command, State, Event>;
  /** Decided by `decider.decide(command, state)`: events to append (none: nothing to do); throwing rejects it. */
  command: Command;
  /**
   * Ids for the events decided, by index: derive them from the causing
   * message (`deterministicId(messageId, i)`) so a redelivery is absorbed by
   * the store. Random ids when absent.
   */
  eventId?: (index: number) => string;
  metadata?: EventMetadata;
  schemaVersion?: number;
  /** Tries on a concurrency conflict before giving up with the last error. */
  maxAttempts?: number;
  /**
   * The stream is almost always new (an order placed under a fresh key): the
   * first try decides on the initial state and appends with `no_stream`,
   * without reading; if the stream exists after all, it is read and decided
   * on as usual.
   */
  assumeNew?: boolean;
  /** The process's stream cache (`StreamStateCache`): the stream's entry is dropped once this command appends to it. */
  cache?: StreamStateCache;
}

export interface CommandOutcome<State, Event> {
  state: State;
  events: readonly Event[];
  result: AppendResult | undefined;
  attempts: number;
  /** `assumeNew` held: the stream was created by this command, and holds exactly `events`. */
  created: boolean;
}

/**
 * Load, decide, append with the revision that was read; on a conflict, load
 * again and decide again. The retries are bounded and jittered, so a hot
 * stream degrades into a clear 409 instead of a livelock.
 */
export async function executeCommand<Command, State, Event extends { type: string }>(
  options: ExecuteCommandOptions<Command, State, Event>,
): Promise<CommandOutcome<State, Event>> {
  const { store, streamId, decider } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const optimistic = options.assumeNew === true && attempt === 1;
    const history = optimistic ? [] : await store.readStream(streamId);
    const state = foldEvents(decider, decider.initialState, history);
    const revision = history.length === 0 ? 'no_stream' : history[history.length - 1]!.revision;
    const events = decider.decide(options.command, state);
    if (events.length === 0) {
      if (optimistic) continue; // nothing to create on the initial state: decide on the stream as it is
      return { state, events, result: undefined, attempts: attempt, created: false };
    }
    const toAppend: EventToAppend[] = events.map((e, i) => {
      const { type, ...data } = e;
      return {
        ...(options.eventId ? { id: options.eventId(i) } : {}),
        type,
        data,
        schemaVersion: options.schemaVersion ?? 1,
        ...(options.metadata ? { metadata: options.metadata } : {}),
      };
    });
    try {
      const result = await store.append(streamId, toAppend, { expectedRevision: revision });
      options.cache?.delete(streamId);
      return { state: events.reduce(decider.evolve, state), events, result, attempts: attempt, created: history.length === 0 };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw err;
      // The stream a first optimistic try assumed new exists: read it now, without waiting.
      if (!optimistic) await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
}
