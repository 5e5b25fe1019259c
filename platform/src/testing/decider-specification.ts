import { expect } from 'vitest';
import type { Decider } from '../event-store/decider';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Decider specifications, the same in every service:
 *
 *     const spec = DeciderSpecification.for(productDecider);
 *     spec.given([added]).when(changePrice).then([priceChanged]);
 *     spec.given([]).when(changePrice).thenThrows(NotFoundError, /does not exist/);
 *
 * The state is folded from the given events with the decider's own
 * `evolve`, as the event store would fold the stream; the command is decided
 * with its `decide`, and the decided events are compared as a whole.
 */
export const DeciderSpecification = {
  for<Command, State, Event extends { type: string }>(decider: Decider<Command, State, Event>) {
    return {
      given(events: readonly Event[]) {
        const state = events.reduce(decider.evolve, decider.initialState);
        return {
          /** The state the given events fold into. */
          state,
          when(command: Command) {
            const run = () => decider.decide(command, state);
            return {
              then(expected: readonly Event[]) {
                expect(run()).toEqual(expected);
              },
              thenNothing() {
                expect(run()).toEqual([]);
              },
              thenThrows(error: ErrorClass, message?: RegExp) {
                let thrown: unknown;
                try {
                  run();
                } catch (err) {
                  thrown = err;
                }
                expect(thrown, 'the decision should have thrown').toBeInstanceOf(error);
                if (message) expect((thrown as Error).message).toMatch(message);
              },
              /** The decided events, for assertions of their own (and the state after them). */
              decided() {
                const events = run();
                return { events, state: events.reduce(decider.evolve, state) };
              },
            };
          },
        };
      },
    };
  },
};

/**
 * What a saga is to its specification: its state, how its events change it,
 * how it decides on an input, and which of its events are commands to
 * participants.
 */
export interface SagaUnderSpecification<Input, State, Event, Command> {
  initialState: State;
  evolve(state: State, event: Event): State;
  decide(input: Input, state: State): readonly Event[];
  commandsOf(events: readonly Event[]): Command[];
}

/** An input, or a function of the state reached so far (a reply that must name the command it answers). */
export type SagaStep<Input, State> = Input | ((state: State) => Input);

/**
 * Saga specifications: `given(inputs).when(input).then(commands)`. The given
 * inputs are decided and folded one after the other, as the saga would have
 * taken them; `when` decides one more.
 */
export const SagaSpecification = {
  for<Input, State, Event, Command>(saga: SagaUnderSpecification<Input, State, Event, Command>) {
    const resolve = (step: SagaStep<Input, State>, state: State): Input =>
      typeof step === 'function' ? (step as (s: State) => Input)(state) : step;
    const run = (state: State, input: Input) => {
      const events = saga.decide(input, state);
      return { events, state: events.reduce(saga.evolve, state) };
    };
    return {
      given(inputs: readonly SagaStep<Input, State>[]) {
        let state = saga.initialState;
        for (const step of inputs) state = run(state, resolve(step, state)).state;
        const given = state;
        return {
          state: given,
          when(step: SagaStep<Input, State>) {
            const { events, state: after } = run(given, resolve(step, given));
            const commands = saga.commandsOf(events);
            return {
              events,
              state: after,
              commands,
              then(expected: readonly Command[]) {
                expect(commands).toEqual(expected);
              },
              thenNothing() {
                expect(events).toEqual([]);
              },
            };
          },
        };
      },
    };
  },
};
