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
import { ConflictError } from '@shop/platform';
import { decideCommon } from './place-order';
import { Decision, isActive, type DecisionContext, type PlaceOrderSnapshot, type SagaEvent, type SagaInput, type SagaState, type Step } from './saga';

const UNDO: Step[] = ['voiding', 'releasing'];

export type CancelStart = 'undo' | 'wait' | 'nothing-to-do';

export function cancelStart(placeOrder: PlaceOrderSnapshot | null | undefined): CancelStart {
  if (!placeOrder || placeOrder.status === 'completed') return 'undo';
  const pastPivot = placeOrder.step === 'confirming' || placeOrder.step === 'committing';
  if ((placeOrder.status === 'running' || placeOrder.status === 'failed') && placeOrder.phase === 'forward' && pastPivot) return 'wait';
  return 'nothing-to-do';
}

export function decideCancelOrder(state: SagaState, input: SagaInput, ctx: DecisionContext): SagaEvent[] {
  const d = new Decision(state, ctx);
  if (input.type === 'CancellationRequested') {
    if (state.status !== 'new') return [];
    d.push({ type: 'SagaStarted', sagaType: 'cancel-order', orderId: input.orderId, customerId: input.customerId, lines: [], startedAt: ctx.now });
    d.accept(input);
    const reason = input.reason ?? "cancelled at the customer's request";
    switch (cancelStart(input.placeOrder)) {
      case 'undo':
        return d.plan('forward', UNDO, { kind: 'cancel', reason }).events;
      case 'wait':
        d.push({ type: 'PlanChanged', phase: 'forward', steps: [], outcome: { kind: 'cancel', reason }, at: ctx.now });
        return d.enter('waiting-for-place-order').events;
      case 'nothing-to-do':
        return d.end('completed', 'the place-order saga ends the order itself').events;
    }
  }
  if (state.status === 'new') return [];
  switch (input.type) {
    case 'PlaceOrderCompleted':
      if (!isActive(state) || state.step !== 'waiting-for-place-order') return [];
      return d.accept(input).plan('forward', UNDO, state.outcome!).events;
    case 'AbortRequested':
      throw new ConflictError(`saga ${ctx.sagaId} only undoes an order: there is nothing to compensate; retry it instead`);
    default:
      // Every step of this saga is retried on its deadline; none is compensated.
      return decideCommon(d, state, input, ctx, () => d);
  }
}
