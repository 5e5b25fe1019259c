import { describe, expect, it } from 'vitest';
import { auditChecks, lagsOf, type AuditSnapshot, type AuditedOrder } from '../audit/audit-checks';

/** A small consistent world: one confirmed order of 2 × A, one rejected, one cancelled after confirmation of 1 × B. */
function consistent(): AuditSnapshot {
  const order = (orderId: string, status: string, paymentStatus: string, sku: string, quantity: number, history: string[]): AuditedOrder => ({
    orderId,
    customerId: 'c-1',
    status,
    paymentStatus,
    lines: [{ sku, quantity }],
    total: status === 'rejected' ? null : { amount: 100 * quantity, currency: 'EUR' },
    placedAt: '2026-12-03T10:00:00.000Z',
    statusHistory: history.map((s) => ({ status: s, at: '2026-12-03T10:00:01.000Z' })),
  });
  return {
    orders: [
      order('o-1', 'confirmed', 'authorized', 'A', 2, ['pending', 'confirmed']),
      order('o-2', 'rejected', 'declined', 'A', 1, ['pending', 'rejected']),
      order('o-3', 'cancelled', 'voided', 'B', 1, ['pending', 'confirmed', 'cancellation-requested', 'cancelled']),
    ],
    sagas: [
      { id: 'place-order-o-1', type: 'place-order', orderId: 'o-1', status: 'completed' },
      { id: 'place-order-o-2', type: 'place-order', orderId: 'o-2', status: 'rejected' },
      { id: 'place-order-o-3', type: 'place-order', orderId: 'o-3', status: 'completed' },
      { id: 'cancel-order-o-3', type: 'cancel-order', orderId: 'o-3', status: 'completed' },
    ],
    stuckSagas: [],
    stock: [
      { sku: 'A', onHand: 8, reserved: 0, available: 8, sold: 2, received: 10 },
      { sku: 'B', onHand: 5, reserved: 0, available: 5, sold: 0, received: 5 },
      // Named by an order, never stocked: zeros, and no read-model or analytics row.
      { sku: 'NOPE-1', onHand: 0, reserved: 0, available: 0, sold: 0, received: 0 },
    ],
    inventoryReadModel: [
      { sku: 'A', onHand: 8, reserved: 0, available: 8 },
      { sku: 'B', onHand: 5, reserved: 0, available: 5 },
    ],
    analyticsStock: [
      { sku: 'A', onHand: 8, reserved: 0, available: 8, sold: 2, received: 10 },
      { sku: 'B', onHand: 5, reserved: 0, available: 5, sold: 0, received: 5 },
    ],
    analyticsFunnel: [{ placed: 3, confirmed: 2, rejected: 1, cancelled: 1 }],
    analyticsRevenue: [{ currency: 'EUR', confirmedOrders: 2, confirmedAmount: 300, cancelledOrders: 1, cancelledAmount: 100 }],
    lags: [
      { service: 'order', metric: 'shop_outbox_relay_lag_events', labels: '', value: 0 },
      { service: 'analytics', metric: 'shop_projection_lag_events', labels: 'projection="stock_levels"', value: 0 },
    ],
  };
}

describe('the auditor checks', () => {
  it('finds nothing wrong in a consistent world', () => {
    expect(auditChecks(consistent())).toEqual([]);
  });

  const broken: [string, (s: AuditSnapshot) => void, string, RegExp][] = [
    ['an order left pending', (s) => void (s.orders[0]!.status = 'pending'), 'orders terminal', /order o-1 is still pending/],
    ['a confirmed order without an authorized payment', (s) => void (s.orders[0]!.paymentStatus = 'declined'), 'order payments', /o-1 is confirmed with payment declined/],
    ['a saga whose end disagrees with its order', (s) => void (s.sagas[1]!.status = 'completed'), 'sagas agree with orders', /place-order-o-2 ended completed, but order o-2 is rejected/],
    ['a saga for an order nobody knows', (s) => void s.sagas.push({ id: 'place-order-o-9', type: 'place-order', orderId: 'o-9', status: 'completed' }), 'sagas agree with orders', /o-9, which the order service does not know/],
    ['a stuck saga', (s) => void s.stuckSagas.push(s.sagas[0]!), 'sagas', /place-order-o-1/],
    ['units lost between received and the levels', (s) => void (s.stock[0]!.received = 11), 'stock conservation', /A/],
    ['more sold than the confirmed orders', (s) => void Object.assign(s.stock[0]!, { sold: 3, onHand: 7, available: 7, received: 10 }), 'stock sold matches orders', /A/],
    ['a reservation with no open order', (s) => void Object.assign(s.stock[1]!, { reserved: 1, available: 4 }), 'no reservation without an open order', /B holds 1 reserved/],
    ['a stale inventory read model', (s) => void (s.inventoryReadModel[1]!.onHand = 4), 'inventory read model', /says B onHand 4, its stream says 5/],
    ['analytics counting one order twice', (s) => void (s.analyticsFunnel[0]!.placed = 4), 'analytics totals', /funnel: placed 4, the order service says 3/],
    ['analytics revenue off by one cent', (s) => void (s.analyticsRevenue[0]!.confirmedAmount = 301), 'analytics totals', /revenue EUR: confirmedAmount 301/],
    ['a corrupted analytics stock row', (s) => void (s.analyticsStock[0]!.sold = 9), 'analytics totals', /analytics stock A: sold 9, the inventory says 2/],
    ['a consumer group behind', (s) => void s.lags.push({ service: 'inventory', metric: 'shop_bus_consumer_lag_messages', labels: 'group="inventory-commands",partition="3"', value: 2 }), 'lag', /inventory shop_bus_consumer_lag_messages\{group="inventory-commands",partition="3"\} = 2/],
  ];
  it.each(broken)('names %s', (_name, breakIt, check, message) => {
    const s = consistent();
    breakIt(s);
    const violations = auditChecks(s);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations).toContainEqual({ check, message: expect.stringMatching(message) });
  });

  it('reads every lag gauge of a scrape and nothing else', () => {
    const scrape = [
      '# HELP shop_bus_consumer_lag_messages Messages behind',
      '# TYPE shop_bus_consumer_lag_messages gauge',
      'shop_bus_consumer_lag_messages{group="g",topic="t",partition="0"} 0',
      'shop_outbox_relay_lag_events 3',
      'shop_http_requests_total{route="/v1/orders"} 12',
    ].join('\n');
    expect(lagsOf('order', scrape)).toEqual([
      { service: 'order', metric: 'shop_bus_consumer_lag_messages', labels: 'group="g",topic="t",partition="0"', value: 0 },
      { service: 'order', metric: 'shop_outbox_relay_lag_events', labels: '', value: 3 },
    ]);
  });
});
