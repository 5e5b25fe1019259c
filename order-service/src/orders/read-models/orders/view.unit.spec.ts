import { describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../order';
import { orderViewFrom } from './view';

const orderId = '5d2e8f1a-3b4c-4d6e-8f0a-1b2c3d4e5f60';
const customerId = 'customer-gus';
const total = { amount: 300, currency: 'EUR' };
const placed: OrderEvent = { type: 'OrderPlaced', orderId, customerId, lines: [{ sku: 'SKU-3', quantity: 3 }], paymentToken: 'tok_approve', channel: 'api', placedAt: 't0' };

describe('the order view folded from a stream', () => {
  it('is absent for an empty stream', () => expect(orderViewFrom([])).toBeUndefined());

  it('keeps one history entry per status change, with its time and reason', () => {
    const view = orderViewFrom([
      placed,
      { type: 'PaymentDeclined', orderId, reason: 'card declined', declinedAt: 't1' },
      { type: 'OrderRejected', orderId, customerId, reason: 'payment declined', rejectedAt: 't2' },
    ]);
    expect(view).toMatchObject({ status: 'rejected', paymentStatus: 'declined', updatedAt: 't2' });
    expect(view!.statusHistory).toEqual([
      { status: 'pending', at: 't0' },
      { status: 'rejected', at: 't2', reason: 'payment declined' },
    ]);
  });

  it('records a confirmation during a cancellation request without leaving cancellation-requested', () => {
    const view = orderViewFrom([
      placed,
      { type: 'OrderCancellationRequested', orderId, customerId, requestedBy: customerId, requestedAt: 't1' },
      { type: 'PaymentAuthorized', orderId, authorizationId: 'a', amount: total, authorizedAt: 't2' },
      { type: 'OrderConfirmed', orderId, customerId, lines: [{ sku: 'SKU-3', quantity: 3, unitPrice: { amount: 100, currency: 'EUR' }, lineTotal: total }], total, confirmedAt: 't3' },
    ]);
    expect(view).toMatchObject({ status: 'cancellation-requested', total });
    expect(view!.statusHistory.map((h) => h.status)).toEqual(['pending', 'cancellation-requested']);
  });

  it('ignores a second OrderPlaced', () => {
    const view = orderViewFrom([placed, { ...placed, placedAt: 't9' } as OrderEvent]);
    expect(view).toMatchObject({ placedAt: 't0', updatedAt: 't0' });
    expect(view!.statusHistory).toHaveLength(1);
  });
});
