import { setTimeout as sleep } from 'node:timers/promises';
import { deterministicId } from '../ids/deterministic-id';
import { CommitConflictError, type CommitResult, type EventMetadata, type EventStore, type EventToAppend } from './event-store';
import type { Decider } from './decider';
import { UnitOfWork, type Aggregate, type StreamStateCache } from './unit-of-work';

/** What caused some work: the key its event ids derive from, and the metadata its events carry. */
export interface Cause {
  /**
   * A message id, a deadline id...: an event this cause stages on a stream
   * gets the id `deterministicId(key, streamId, revision)`, with the
   * revision the event takes, so doing the same work again on the same state
   * (a retried unit) yields the same ids, and deciding more later does not
   * collide with what the cause wrote before.
   * Random ids when absent.
   */
  key?: string;
  metadata: EventMetadata;
}

/**
 * One cause's share of a unit of work: what a message handler (or a deadline,
 * or a request) decides, staged in the unit with ids derived from the cause
 * and the cause's correlation, causation and trace context as metadata. The
 * unit commits everything together.
 */
export class Work {
  constructor(
    readonly unit: UnitOfWork,
    readonly cause: Cause,
  ) {}

  get metadata(): EventMetadata {
    return this.cause.metadata;
  }

  load<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>): Promise<State> {
    return this.unit.load(streamId, aggregate);
  }

  loadAll(streams: { streamId: string; aggregate: Aggregate<unknown, { type: string }> }[]): Promise<void> {
    return this.unit.loadAll(streams);
  }

  stateOf<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>): State {
    return this.unit.stateOf(streamId, aggregate);
  }

  /** Stages events on a loaded stream (synchronously: no await between reading the state and this). */
  append<State, Event extends { type: string }>(streamId: string, aggregate: Aggregate<State, Event>, events: readonly Event[]): State {
    const key = this.cause.key;
    // The revision each event will take: the same decision on the same state gets the same ids (a retry
    // the store absorbs), and a later decision of the same cause on a stream it wrote before gets new ones.
    const first = this.unit.revisionOf(streamId) + 1;
    return this.unit.append(streamId, aggregate, events, {
      ...(key !== undefined ? { eventId: (i: number) => deterministicId(key, streamId, first + i) } : {}),
      metadata: this.cause.metadata,
    });
  }

  /** Stages facts on a stream without deciding on it (see `UnitOfWork.record`); they keep their own ids and metadata. */
  record(streamId: string, events: readonly EventToAppend[]): void {
    this.unit.record(streamId, events);
  }

  /** Load, decide `command` with the decider on the state as it is now in the unit, stage the decision. */
  decide<Command, State, Event extends { type: string }>(
    streamId: string,
    decider: Decider<Command, State, Event>,
    command: Command,
  ): Promise<{ state: State; events: readonly Event[] }> {
    return this.execute(streamId, decider, (state) => decider.decide(command, state));
  }

  /** Load, decide on the state as it is now in the unit, stage the decision. */
  async execute<State, Event extends { type: string }>(
    streamId: string,
    aggregate: Aggregate<State, Event>,
    decide: (state: State) => readonly Event[],
  ): Promise<{ state: State; events: readonly Event[] }> {
    await this.unit.load(streamId, aggregate);
    const events = decide(this.unit.stateOf(streamId, aggregate));
    const state = events.length > 0 ? this.append(streamId, aggregate, events) : this.unit.stateOf(streamId, aggregate);
    return { state, events };
  }
}

/**
 * Runs `decide` in a fresh unit of work and commits it; when the commit finds
 * that streams it read have moved, runs it again on their new state (bounded,
 * with jitter), so concurrent writers serialise instead of failing.
 */
export async function commitWork<T>(
  store: Pick<EventStore, 'readStreams' | 'commit'>,
  cause: Cause,
  decide: (work: Work) => Promise<T>,
  options: { cache?: StreamStateCache; maxAttempts?: number } = {},
): Promise<{ value: T; result: CommitResult }> {
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const unit = new UnitOfWork(store, options.cache);
    const value = await decide(new Work(unit, cause));
    try {
      return { value, result: await unit.commit() };
    } catch (err) {
      if (!(err instanceof CommitConflictError) || attempt >= maxAttempts) throw err;
      await sleep(Math.random() * Math.min(100, 2 ** attempt));
    }
  }
}
