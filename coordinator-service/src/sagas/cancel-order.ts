/**
 * The cancel-order saga (`cancel-order-<orderId>`), started by
 * `order.cancellation-requested`:
 *
 *   [waiting-for-place-order ->] voiding -> releasing -> cancelling -> cancelled
 *
 * Every step is retried with backoff (same command id), never compensated.
 * How it starts depends on the place-order saga at that moment (a snapshot
 * the adapter reads and passes as data), so that one order has one outcome:
 * - no place-order saga, or it completed: undo everything, then cancel;
 * - place-order past its pivot (confirming, committing): wait until it
 *   completes (`PlaceOrderCompleted`), then undo everything;
 * - otherwise place-order is compensating (it took the cancellation itself,
 *   or was already rejecting) or has ended without an order to undo: this
 *   saga has nothing to do and completes at once.
 */
import { ConflictError, type Decider } from '@shop/platform';
import { sagaAggregate } from './evolve';
import { isActive, type PlaceOrderSnapshot, type SagaEvent, type SagaInput, type SagaState, type Step } from './saga-state';
import { decideShared, inOrder, nothing, sagaSteps, type Decision, type DecisionContext, type SagaCommand } from './steps';

const UNDO: Step[] = ['voiding', 'releasing'];

export type CancelStart = 'undo' | 'wait' | 'nothing-to-do';

export function cancelStart(placeOrder: PlaceOrderSnapshot | null | undefined): CancelStart {
  if (!placeOrder || placeOrder.status === 'completed') return 'undo';
  const pastPivot = placeOrder.step === 'confirming' || placeOrder.step === 'committing';
  if ((placeOrder.status === 'running' || placeOrder.status === 'failed') && placeOrder.phase === 'forward' && pastPivot) return 'wait';
  return 'nothing-to-do';
}

function decision(input: SagaInput, state: SagaState, ctx: DecisionContext): Decision {
  const { start, accept, changePlan, enter, plan, end } = sagaSteps(ctx);
  if (input.type === 'CancellationRequested') {
    if (state.status !== 'new') return nothing;
    const started = inOrder(start('cancel-order', { orderId: input.orderId, customerId: input.customerId, lines: [] }), accept(input));
    const reason = input.reason ?? "cancelled at the customer's request";
    switch (cancelStart(input.placeOrder)) {
      case 'undo':
        return inOrder(started, plan('forward', UNDO, { kind: 'cancel', reason }));
      case 'wait':
        return inOrder(started, changePlan('forward', [], { kind: 'cancel', reason }), enter('waiting-for-place-order'));
      case 'nothing-to-do':
        return inOrder(started, end('completed', 'the place-order saga ends the order itself'));
    }
  }
  if (state.status === 'new') return nothing;
  switch (input.type) {
    case 'PlaceOrderCompleted':
      if (!isActive(state) || state.current?.step !== 'waiting-for-place-order') return nothing;
      return inOrder(accept(input), plan('forward', UNDO, state.outcome!));
    case 'AbortRequested':
      throw new ConflictError(`saga ${ctx.sagaId} only undoes an order: there is nothing to compensate; retry it instead`);
    default:
      // Every step of this saga is retried on its deadline; none is compensated.
      return decideShared(input, state, ctx, () => nothing);
  }
}

export const decideCancelOrder = ({ input, ctx }: SagaCommand, state: SagaState): readonly SagaEvent[] => decision(input, state, ctx)(state);

/** The cancel-order saga: its stream's fold and codec, and its decisions on each input. */
export const cancelOrderDecider: Decider<SagaCommand, SagaState, SagaEvent> = { ...sagaAggregate, decide: decideCancelOrder };
