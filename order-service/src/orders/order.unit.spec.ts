import { describe, expect, it } from 'vitest';
import { CorruptEventError } from '@shop/platform';
import { recordedEvents } from '@shop/platform/testing';
import { orderCodec, orderStreamId, type OrderEvent } from './order';

const orderId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const customerId = 'customer-ann';
const at = '2025-01-02T10:00:00.000Z';
const eur = (amount: number) => ({ amount, currency: 'EUR' });

const everyType: OrderEvent[] = [
  { type: 'OrderPlaced', orderId, customerId, lines: [{ sku: 'SKU-1', quantity: 2 }], paymentToken: 'tok_approve', channel: 'web', placedAt: at },
  { type: 'PaymentAuthorized', orderId, authorizationId: 'auth-1', amount: eur(2000), authorizedAt: at },
  { type: 'PaymentDeclined', orderId, reason: 'card declined', declinedAt: at },
  { type: 'PaymentAuthorizationTimedOut', orderId, at },
  { type: 'PaymentVoided', orderId, voidedAt: at },
  { type: 'PaymentVoided', orderId, authorizationId: 'auth-1', voidedAt: at },
  {
    type: 'OrderConfirmed',
    orderId,
    customerId,
    lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) }],
    total: eur(2000),
    confirmedAt: at,
  },
  { type: 'OrderRejected', orderId, customerId, reason: 'out of stock', rejectedAt: at },
  { type: 'OrderCancellationRequested', orderId, customerId, requestedBy: customerId, requestedAt: at },
  { type: 'OrderCancellationRequested', orderId, customerId, requestedBy: 'admin-zoe', reason: 'fraud', requestedAt: at },
  { type: 'OrderCancelled', orderId, customerId, reason: 'customer asked', cancelledAt: at },
];

const stored = (events: { type: string; data: unknown }[]) => recordedEvents(events.map((e) => ({ streamId: orderStreamId(orderId), ...e })));

describe('the order codec', () => {
  it('knows every order event type', () =>
    expect([...orderCodec.types].sort()).toEqual([...new Set(everyType.map((e) => e.type))].sort()));

  it('reads every stored order event back as the event that was decided', () => {
    const recorded = stored(everyType.map(({ type, ...data }) => ({ type, data })));
    expect(recorded.map((e) => orderCodec.decode(e))).toEqual(everyType);
  });

  it('reads an OrderPlaced stored before the channel was recorded as placed through the API', () => {
    const { type, channel: _channel, ...before } = everyType[0] as Extract<OrderEvent, { type: 'OrderPlaced' }>;
    const [old] = stored([{ type, data: before }]);
    expect(orderCodec.decode(old!)).toEqual({ ...everyType[0], channel: 'api' });
  });

  it('refuses a stored event whose data does not match its schema, naming the stream, revision and field', () => {
    const { type, ...placed } = everyType[0]!;
    const [, corrupt] = stored([
      { type, data: placed },
      { type: 'PaymentAuthorized', data: { orderId, authorizationId: 'auth-1', amount: { amount: '20.00', currency: 'EUR' }, authorizedAt: at } },
    ]);
    expect(() => orderCodec.decode(corrupt!)).toThrow(CorruptEventError);
    expect(() => orderCodec.decode(corrupt!)).toThrow(new RegExp(`revision 1 of order-${orderId}.*amount\\.amount`));
  });

  it('refuses an event type the order does not have', () => {
    const [unknown] = stored([{ type: 'OrderShipped', data: { orderId } }]);
    expect(() => orderCodec.decode(unknown!)).toThrow(/OrderShipped.*not one of/);
  });
});
