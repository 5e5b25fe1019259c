import { expect } from 'vitest';

/**
 * given(events).when(command).then(events) / .thenThrows(ErrorClass, message):
 * the decider's state is folded from the given events, the command decided
 * against it, and the decided events compared as a whole.
 */
export function deciderSpec<State, Event, Command>(
  decider: { initialState: State; evolve: (state: State, event: Event) => State },
  decide: (state: State, command: Command) => Event[],
) {
  return (...given: Event[]) => ({
    when: (command: Command) => {
      const run = () => decide(given.reduce(decider.evolve, decider.initialState), command);
      return {
        then: (...expected: Event[]) => expect(run()).toEqual(expected),
        thenNothing: () => expect(run()).toEqual([]),
        thenThrows: (error: abstract new (...args: never[]) => Error, message?: RegExp) => {
          expect(run).toThrow(error);
          if (message) expect(run).toThrow(message);
        },
      };
    },
  });
}
