import { WrongExpectedRevisionError, type AppendResult, type EventMetadata, type EventStore, type EventToAppend, type RecordedEvent } from './event-store';

export interface Decider<State, Event extends { type: string }> {
  initialState: State;
  evolve: (state: State, event: Event) => State;
}

export interface ExecuteCommandOptions<State, Event extends { type: string }> {
  store: EventStore;
  streamId: string;
  decider: Decider<State, Event>;
  /** The pure decision: events to append (empty: nothing to do). Throwing rejects the command. */
  decide: (state: State) => Event[];
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
}

export interface CommandOutcome<State, Event> {
  state: State;
  events: Event[];
  result: AppendResult | undefined;
  attempts: number;
}

/**
 * Load, decide, append with the revision that was read; on a conflict, load
 * again and decide again. The retries are bounded and jittered, so a hot
 * stream degrades into a clear 409 instead of a livelock.
 */
export async function executeCommand<State, Event extends { type: string }>(
  options: ExecuteCommandOptions<State, Event>,
): Promise<CommandOutcome<State, Event>> {
  const { store, streamId, decider } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId);
    const state = history.reduce((s, e: RecordedEvent) => decider.evolve(s, { type: e.type, ...(e.data as object) } as unknown as Event), decider.initialState);
    const revision = history.length === 0 ? 'no_stream' : history[history.length - 1]!.revision;
    const events = options.decide(state);
    if (events.length === 0) return { state, events, result: undefined, attempts: attempt };
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
      return { state: events.reduce(decider.evolve, state), events, result, attempts: attempt };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
}
