/**
 * How a saga's events change its state: the same fold for both sagas (a
 * saga's type is data of its `SagaStarted`). Pure.
 */
import type { Aggregate } from '@shop/platform';
import { initialState, sagaCodec, type CurrentStep, type SagaData, type SagaEvent, type SagaState, type StartedSaga } from './saga-state';

/** What a started saga carries, without what belongs to its status (the pending deadline). */
function carried(state: StartedSaga): SagaData {
  if (state.status === 'running' || state.status === 'compensating') {
    const { status: _status, deadline: _deadline, ...saga } = state;
    return saga;
  }
  const { status: _status, ...saga } = state;
  return saga;
}

export function evolve(state: SagaState, event: SagaEvent): SagaState {
  if (event.type === 'SagaStarted') {
    if (state.status !== 'new') return state;
    return {
      status: 'running',
      sagaType: event.sagaType,
      orderId: event.orderId,
      customerId: event.customerId,
      lines: event.lines,
      startedAt: event.startedAt,
      phase: 'forward',
      plan: [],
      visited: [],
      lateCommands: 0,
      cancelRequested: false,
    };
  }
  // Every other event follows a SagaStarted.
  if (state.status === 'new') return state;
  switch (event.type) {
    case 'InputAccepted': {
      const input = event.input;
      if (input.type === 'OrderLinesPriced') return { ...state, pricing: { lines: input.lines, total: input.total } };
      if (input.type === 'CancellationRequested') return { ...state, cancelRequested: true };
      return state;
    }
    case 'PlanChanged':
      return { ...state, phase: event.phase, plan: event.steps, outcome: event.outcome };
    case 'StepEntered': {
      // A new step (or a new attempt of this one): no command issued for it yet, no deadline.
      const saga = carried(state);
      const index = saga.plan.indexOf(event.step);
      const current: CurrentStep = {
        step: event.step,
        attempt: event.attempt,
        sends: 0,
        commandIds: saga.current?.step === event.step ? saga.current.commandIds : [],
      };
      const entered: SagaData = {
        ...saga,
        phase: event.phase,
        current,
        plan: index >= 0 ? saga.plan.slice(index + 1) : saga.plan,
        visited: saga.visited.includes(event.step) ? saga.visited : [...saga.visited, event.step],
      };
      return event.phase === 'forward' ? { ...entered, status: 'running' } : { ...entered, current, status: 'compensating' };
    }
    case 'CommandIssued': {
      if (event.late) return { ...state, lateCommands: state.lateCommands + 1 };
      const at = state.current ?? { step: event.step, attempt: event.attempt, sends: 0, commandIds: [] };
      const commandIds = at.commandIds.includes(event.commandId) ? at.commandIds : [...at.commandIds, event.commandId];
      return { ...state, current: { ...at, sends: event.send, command: event.command, commandId: event.commandId, commandIds } };
    }
    case 'DeadlineScheduled':
      if (state.status !== 'running' && state.status !== 'compensating') return state;
      return { ...state, deadline: { id: event.deadlineId, step: event.step, dueAt: event.dueAt } };
    case 'SagaFailed':
      return { ...carried(state), status: 'failed', reason: event.reason };
    case 'SagaEnded':
      return { ...carried(state), status: event.status, ...(event.reason ? { reason: event.reason } : {}) };
  }
}

/** A saga stream as the store folds it (each saga's decider adds its own `decide`). */
export const sagaAggregate: Aggregate<SagaState, SagaEvent> = { initialState, evolve, codec: sagaCodec };
