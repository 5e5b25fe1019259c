import { describe, expect, it } from 'vitest';
import { decideCancelOrder } from './cancel-order';
import type { PlaceOrderSnapshot, SagaInput } from './saga';
import { expire, reply, sagaSpec } from './saga-spec';

const orderId = '22222222-2222-4222-8222-222222222222';
const saga = sagaSpec(decideCancelOrder, `cancel-order-${orderId}`);
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
      expect(saga.given().when(requested(completed)).commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
    });

    it('then gives the stock back', () => {
      expect(saga.given(requested(completed)).when(reply({ type: 'PaymentVoided' })).commands).toEqual([
        { type: 'inventory.release-stock', data: { orderId, reason: 'changed my mind' } },
      ]);
    });

    it('then marks the order cancelled, and ends cancelled', () => {
      const given = saga.given(requested(completed), reply({ type: 'PaymentVoided' }));
      expect(given.when(reply({ type: 'StockReleased' })).commands).toEqual([
        { type: 'order.cancel-order', data: { orderId, reason: 'changed my mind' } },
      ]);
      const end = saga.given(requested(completed), reply({ type: 'PaymentVoided' }), reply({ type: 'StockReleased' }));
      expect(end.when(reply({ type: 'OrderCancelled', reason: 'changed my mind' })).state.status).toBe('cancelled');
    });
  });

  describe('cancel while place-order is past its pivot', () => {
    const confirming: PlaceOrderSnapshot = { status: 'running', phase: 'forward', step: 'confirming' };

    it('waits, issuing nothing', () => {
      const then = saga.given().when(requested(confirming));
      expect(then.commands).toEqual([]);
      expect(then.state.step).toBe('waiting-for-place-order');
    });

    it('undoes the order once place-order completed', () => {
      expect(saga.given(requested(confirming)).when({ type: 'PlaceOrderCompleted' }).commands).toEqual([
        { type: 'order.void-payment', data: { orderId } },
      ]);
    });
  });

  describe('cancel while place-order compensates (it took the cancellation itself)', () => {
    it('has nothing to do', () => {
      const then = saga.given().when(requested({ status: 'compensating', phase: 'compensating', step: 'voiding' }));
      expect(then.commands).toEqual([]);
      expect(then.state.status).toBe('completed');
    });
  });

  describe('deadlines and duplicates', () => {
    it('re-sends a step on its deadline, never compensates', () => {
      const given = saga.given(requested(completed));
      const then = given.when(expire);
      expect(then.commandIds).toEqual([given.state.commandId]);
    });

    it('a duplicate cancellation request changes nothing', () => {
      expect(saga.given(requested(completed)).when(requested(completed)).events).toEqual([]);
    });

    it('a duplicate payment-voided changes nothing', () => {
      expect(saga.given(requested(completed), reply({ type: 'PaymentVoided' })).when(reply({ type: 'PaymentVoided' })).events).toEqual([]);
    });
  });
});
