import type { Aggregate } from './unit-of-work';

/**
 * An aggregate's whole behaviour as three pure functions and a codec: the
 * state before any event, how an event changes it, what a command decides
 * on a state, and how its stored events are read back (`Aggregate`). The
 * argument order is the same everywhere: `decide(command, state)`,
 * `evolve(state, event)`.
 */
export interface Decider<Command, State, Event extends { type: string }> extends Aggregate<State, Event> {
  /** The events a command decides on the state (empty: nothing to do). Throwing rejects the command. */
  decide(command: Command, state: State): readonly Event[];
}
