import { describe, expect, it } from 'vitest';
import { deterministicId } from '@shop/platform';
import { SagaSpecification } from '@shop/platform/testing';
import { cancelOrderDecider } from './cancel-order';
import { currentStep, pendingDeadline, type PlaceOrderSnapshot, type SagaEvent, type SagaInput, type SagaState } from './saga-state';
import { DEFAULT_DEADLINES, type DecisionContext } from './steps';

const orderId = '22222222-2222-4222-8222-222222222222';
const ctx: DecisionContext = { sagaId: `cancel-order-${orderId}`, now: '2030-01-01T00:00:00.000Z', deadlines: DEFAULT_DEADLINES, id: deterministicId };
const saga = SagaSpecification.for({
  initialState: cancelOrderDecider.initialState,
  evolve: cancelOrderDecider.evolve,
  decide: (input: SagaInput, state: SagaState) => cancelOrderDecider.decide({ input, ctx }, state),
  commandsOf: (events: readonly SagaEvent[]) => events.flatMap((e) => (e.type === 'CommandIssued' ? [e.command] : [])),
});
const commandIdsOf = (events: readonly SagaEvent[]) => events.flatMap((e) => (e.type === 'CommandIssued' ? [e.commandId] : []));
/** The deadline input for the saga's pending deadline. */
const expire = (s: SagaState): SagaInput => ({ type: 'DeadlineExpired', deadlineId: pendingDeadline(s)!.id });
/** A reply to the current step's command, with its causation id. */
const reply =
  (input: Extract<SagaInput, { causationId?: string }>) =>
  (s: SagaState): SagaInput => ({ ...input, causationId: currentStep(s)?.commandId });
const requested = (placeOrder: PlaceOrderSnapshot | null): SagaInput => ({
  type: 'CancellationRequested',
  orderId,
  customerId: 'alice',
  reason: 'changed my mind',
  placeOrder,
});
const completed: PlaceOrderSnapshot = { status: 'completed', phase: 'forward', step: 'committing' };

describe('cancel-order saga', () => {
  describe('cancel after confirmation (place-order completed)', () => {
    it('voids the payment first', () => {
      expect(saga.given([]).when(requested(completed)).commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
    });

    it('then gives the stock back', () => {
      expect(saga.given([requested(completed)]).when(reply({ type: 'PaymentVoided' })).commands).toEqual([
        { type: 'inventory.release-stock', data: { orderId, reason: 'changed my mind' } },
      ]);
    });

    it('then marks the order cancelled, and ends cancelled', () => {
      const given = saga.given([requested(completed), reply({ type: 'PaymentVoided' })]);
      expect(given.when(reply({ type: 'StockReleased' })).commands).toEqual([
        { type: 'order.cancel-order', data: { orderId, reason: 'changed my mind' } },
      ]);
      const end = saga.given([requested(completed), reply({ type: 'PaymentVoided' }), reply({ type: 'StockReleased' })]);
      expect(end.when(reply({ type: 'OrderCancelled', reason: 'changed my mind' })).state.status).toBe('cancelled');
    });
  });

  describe('cancel while place-order is past its pivot', () => {
    const confirming: PlaceOrderSnapshot = { status: 'running', phase: 'forward', step: 'confirming' };

    it('waits, issuing nothing', () => {
      const then = saga.given([]).when(requested(confirming));
      expect(then.commands).toEqual([]);
      expect(currentStep(then.state)?.step).toBe('waiting-for-place-order');
    });

    it('undoes the order once place-order completed', () => {
      expect(saga.given([requested(confirming)]).when({ type: 'PlaceOrderCompleted' }).commands).toEqual([
        { type: 'order.void-payment', data: { orderId } },
      ]);
    });
  });

  describe('cancel while place-order compensates (it took the cancellation itself)', () => {
    it('has nothing to do', () => {
      const then = saga.given([]).when(requested({ status: 'compensating', phase: 'compensating', step: 'voiding' }));
      expect(then.commands).toEqual([]);
      expect(then.state.status).toBe('completed');
    });
  });

  describe('deadlines and duplicates', () => {
    it('re-sends a step on its deadline, never compensates', () => {
      const given = saga.given([requested(completed)]);
      const then = given.when(expire);
      expect(commandIdsOf(then.events)).toEqual([currentStep(given.state)?.commandId]);
    });

    it('a duplicate cancellation request changes nothing', () => {
      expect(saga.given([requested(completed)]).when(requested(completed)).events).toEqual([]);
    });

    it('a duplicate payment-voided changes nothing', () => {
      expect(saga.given([requested(completed), reply({ type: 'PaymentVoided' })]).when(reply({ type: 'PaymentVoided' })).events).toEqual([]);
    });
  });
});
