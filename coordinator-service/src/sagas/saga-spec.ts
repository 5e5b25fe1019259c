/**
 * `given(inputs).when(input)` for the sagas: runs the inputs through decide
 * and evolve, then decides `input` and returns what it emitted (commands
 * and deadline requests). Test-only helper, next to the specs.
 */
import { deterministicId } from '@shop/platform';
import { evolve, initialState, DEFAULT_DEADLINES, type DecisionContext, type SagaEvent, type SagaInput, type SagaState } from './saga';

export type Decide = (state: SagaState, input: SagaInput, ctx: DecisionContext) => SagaEvent[];

export const T0 = '2030-01-01T00:00:00.000Z';

export function sagaSpec(decide: Decide, sagaId: string) {
  const ctx = (now = T0): DecisionContext => ({ sagaId, now, deadlines: DEFAULT_DEADLINES, id: deterministicId });
  const run = (state: SagaState, input: SagaInput) => {
    const events = decide(state, input, ctx());
    return { state: events.reduce(evolve, state), events };
  };
  return {
    given(...inputs: (SagaInput | ((s: SagaState) => SagaInput))[]) {
      let state = initialState;
      for (const i of inputs) state = run(state, typeof i === 'function' ? i(state) : i).state;
      return {
        state,
        when(input: SagaInput | ((s: SagaState) => SagaInput)) {
          const { state: after, events } = run(state, typeof input === 'function' ? input(state) : input);
          return {
            state: after,
            events,
            commands: events.flatMap((e) => (e.type === 'CommandIssued' ? [e.command] : [])),
            commandIds: events.flatMap((e) => (e.type === 'CommandIssued' ? [e.commandId] : [])),
            deadlines: events.flatMap((e) => (e.type === 'DeadlineScheduled' ? [e] : [])),
          };
        },
      };
    },
  };
}

/** The deadline input for the saga's pending deadline. */
export const expire = (s: SagaState): SagaInput => ({ type: 'DeadlineExpired', deadlineId: s.deadline!.id });
/** A reply to the current step's command, with its causation id. */
export const reply =
  (input: SagaInput) =>
  (s: SagaState): SagaInput => ({ ...input, causationId: s.commandId }) as SagaInput;
