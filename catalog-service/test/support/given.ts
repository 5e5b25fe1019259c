import { expect } from 'vitest';

/**
 * Decider specifications: `given(events).when(command).then(events)` or
 * `.thenThrows(ErrorClass, /message/)`. The state is folded from the given
 * events with the aggregate's own `evolve`, as the event store would.
 */
export function specification<State, Event, Command>(
  decider: { initialState: State; evolve: (state: State, event: Event) => State },
  decide: (command: Command, state: State) => Event[],
) {
  return (given: Event[] = []) => ({
    when(command: Command) {
      const run = () => decide(command, given.reduce(decider.evolve, decider.initialState));
      return {
        then(expected: Event[]) {
          expect(run()).toEqual(expected);
        },
        thenThrows(errorClass: abstract new (...args: never[]) => Error, message?: RegExp) {
          let thrown: unknown;
          try {
            run();
          } catch (err) {
            thrown = err;
          }
          expect(thrown, 'the decision should have thrown').toBeInstanceOf(errorClass);
          if (message) expect((thrown as Error).message).toMatch(message);
        },
      };
    },
  });
}
