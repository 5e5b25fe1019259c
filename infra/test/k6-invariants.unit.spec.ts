import { describe, expect, it } from 'vitest';
import {
  analyticsTotalsMatch,
  everyOrderTerminal,
  expectedAnalytics,
  funnelDelta,
  hotSkuSoldExactly,
  noStuckSagas,
  revenueDelta,
  stockConservation,
  stockMatchesOrders,
  sumFunnel,
  sumRevenue,
  type OrderSnapshot,
  type SagaSnapshot,
  type StockLevels,
} from '../k6/lib/invariants';
import { parsePrometheusText, sampleValue, serviceHealth, sumOf } from '../k6/lib/prometheus';

/** The k6 teardown's invariants (infra/k6/lib/invariants.ts), pure functions over snapshots. */

const T0 = '2026-12-01T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

function levels(sku: string, l: Partial<StockLevels> & { received: number }): StockLevels {
  const reserved = l.reserved ?? 0;
  const sold = l.sold ?? 0;
  const available = l.available ?? l.received - reserved - sold;
  return { sku, received: l.received, reserved, sold, available, onHand: l.onHand ?? available + reserved };
}

let n = 0;
function order(status: string, lines: { sku: string; quantity: number }[], o: Partial<OrderSnapshot> = {}): OrderSnapshot {
  n++;
  const history = [{ status: 'pending', at: at(n) }];
  if (status === 'cancelled' && o.statusHistory === undefined) history.push({ status: 'confirmed', at: at(n + 0.5) });
  if (status !== 'pending') history.push({ status, at: at(n + 1) });
  return {
    orderId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    customerId: 'k6-customer',
    status,
    lines,
    // As the order service's view: a total only once OrderConfirmed was applied.
    total: status === 'confirmed' || (o.statusHistory ?? history).some((h) => h.status === 'confirmed') ? { amount: 1_000 * lines.reduce((s, l) => s + l.quantity, 0), currency: 'EUR' } : null,
    placedAt: at(n),
    statusHistory: history,
    ...o,
  };
}

const saga = (o: OrderSnapshot, status: string, type = 'place-order'): SagaSnapshot => ({ id: `${type}-${o.orderId}`, type, orderId: o.orderId, status });

describe('stockConservation', () => {
  it('holds for consistent levels, with and without a setup snapshot', () => {
    const after = [levels('K6-A', { received: 100, reserved: 0, sold: 30 }), levels('K6-B', { received: 50, reserved: 5, sold: 5 })];
    expect(stockConservation(after)).toEqual([]);
    const before = { 'K6-A': levels('K6-A', { received: 100 }), 'K6-B': levels('K6-B', { received: 50 }) };
    expect(stockConservation(after, { before })).toEqual([]);
  });

  it('catches received != available + reserved + sold', () => {
    const bad = { sku: 'K6-A', received: 100, reserved: 0, sold: 30, available: 71, onHand: 71 };
    expect(stockConservation([bad])).toEqual(['stock K6-A: not conserved: received 100 != available 71 + reserved 0 + sold 30']);
  });

  it('allows for the adjustments the run made, and only those', () => {
    const adjusted = levels('K6-A', { received: 100, sold: 10, available: 92 });
    expect(stockConservation([adjusted], { adjusted: { 'K6-A': 2 } })).toEqual([]);
    expect(stockConservation([adjusted])).toHaveLength(1);
  });

  it('compares changes over the run when given the setup snapshot (a SKU adjusted before the run)', () => {
    // Before the run: received 100, adjusted -10 (not visible), 90 available.
    const before = { SKU: { sku: 'SKU', received: 100, reserved: 0, sold: 0, available: 90, onHand: 90 } };
    const after = { sku: 'SKU', received: 100, reserved: 1, sold: 4, available: 85, onHand: 86 };
    expect(stockConservation([after], { before })).toEqual([]);
    const lost = { ...after, available: 84, onHand: 85 };
    expect(stockConservation([lost], { before })[0]).toMatch(/not conserved over the run/);
  });

  it('catches onHand != available + reserved and negative figures', () => {
    expect(stockConservation([{ sku: 'K6-A', received: 10, reserved: 2, sold: 0, available: 8, onHand: 9 }])).toContain('stock K6-A: onHand 9 != available 8 + reserved 2');
    expect(stockConservation([{ sku: 'K6-A', received: 10, reserved: 0, sold: 11, available: -1, onHand: -1 }])).toContain('stock K6-A: available is negative (-1)');
  });
});

describe('stockMatchesOrders', () => {
  const before = { 'K6-A': levels('K6-A', { received: 100 }) };

  it('holds when the units sold are the confirmed orders\' and nothing stays reserved', () => {
    const orders = [order('confirmed', [{ sku: 'K6-A', quantity: 2 }]), order('rejected', [{ sku: 'K6-A', quantity: 5 }]), order('cancelled', [{ sku: 'K6-A', quantity: 1 }])];
    expect(stockMatchesOrders([levels('K6-A', { received: 100, sold: 2 })], orders, before)).toEqual([]);
  });

  it('catches units sold that no confirmed order holds, and holds left reserved', () => {
    const orders = [order('confirmed', [{ sku: 'K6-A', quantity: 2 }])];
    expect(stockMatchesOrders([levels('K6-A', { received: 100, sold: 3 })], orders, before)).toEqual([
      'stock K6-A: 3 unit(s) sold during the run, but the confirmed orders hold 2',
    ]);
    expect(stockMatchesOrders([levels('K6-A', { received: 100, sold: 2, reserved: 1 })], orders, before)[0]).toMatch(/1 unit\(s\) still reserved/);
  });
});

describe('everyOrderTerminal', () => {
  it('holds when every order is confirmed, rejected or cancelled', () => {
    expect(everyOrderTerminal([order('confirmed', []), order('rejected', []), order('cancelled', [])])).toEqual([]);
  });

  it('names each order still pending or cancelling', () => {
    const pending = order('pending', [{ sku: 'K6-A', quantity: 1 }]);
    const cancelling = order('cancellation-requested', []);
    const v = everyOrderTerminal([order('confirmed', []), pending, cancelling], { within: '60 s after the load stopped' });
    expect(v).toHaveLength(2);
    expect(v[0]).toContain(`order ${pending.orderId} is still pending 60 s after the load stopped`);
    expect(v[1]).toContain('cancellation-requested');
  });

  it('catches accepted orders the order service does not show', () => {
    expect(everyOrderTerminal([order('confirmed', [])], { expectedAtLeast: 3 })).toEqual(['3 order(s) accepted, only 1 found through the order service']);
  });
});

describe('noStuckSagas', () => {
  const confirmed = order('confirmed', []);
  const rejected = order('rejected', []);
  const cancelled = order('cancelled', []);
  const good = [saga(confirmed, 'completed'), saga(rejected, 'rejected'), saga(cancelled, 'completed'), saga(cancelled, 'completed', 'cancel-order')];

  it('holds when each order\'s saga ended as the order did', () => {
    expect(noStuckSagas([confirmed, rejected, cancelled], good, [])).toEqual([]);
  });

  it('catches a saga still running, a missing saga, a saga that ended otherwise than its order, and a stuck one', () => {
    expect(noStuckSagas([confirmed], [saga(confirmed, 'running')])).toEqual([`saga place-order-${confirmed.orderId} is running`]);
    expect(noStuckSagas([confirmed], [])).toEqual([`order ${confirmed.orderId} (confirmed) has no place-order saga`]);
    expect(noStuckSagas([rejected], [saga(rejected, 'completed')])).toEqual([`saga place-order-${rejected.orderId} ended completed, but order ${rejected.orderId} is rejected`]);
    const failed = saga(confirmed, 'failed');
    expect(noStuckSagas([confirmed], [saga(confirmed, 'completed')], [failed])).toEqual([`saga place-order-${confirmed.orderId} is in the stuck list (failed)`]);
  });

  it('ignores sagas of other orders', () => {
    const other = order('pending', []);
    expect(noStuckSagas([confirmed], [saga(confirmed, 'completed'), saga(other, 'running')], [saga(other, 'failed')])).toEqual([]);
  });
});

describe('analyticsTotalsMatch', () => {
  const orders = [
    order('confirmed', [{ sku: 'K6-A', quantity: 2 }]),
    order('confirmed', [{ sku: 'K6-B', quantity: 1 }]),
    order('rejected', [{ sku: 'K6-A', quantity: 1 }]),
    order('cancelled', [{ sku: 'K6-B', quantity: 3 }]),
  ];
  const expected = expectedAnalytics(orders);
  const inventory = [levels('K6-A', { received: 100, sold: 2 }), levels('K6-B', { received: 100, sold: 1 })];

  it('derives the order service\'s side: a cancelled confirmed order counts as confirmed and as cancelled', () => {
    expect(expected.funnel).toEqual({ placed: 4, confirmed: 3, rejected: 1, cancelled: 1 });
    expect(expected.revenue).toEqual({ EUR: { confirmedOrders: 3, confirmedAmount: 6_000, cancelledOrders: 1, cancelledAmount: 3_000 } });
  });

  it('holds when analytics counted the same (as deltas between setup and teardown)', () => {
    const before = { funnel: { placed: 10, confirmed: 8, rejected: 2, cancelled: 0 }, revenue: { EUR: { confirmedOrders: 8, confirmedAmount: 80_000, cancelledOrders: 0, cancelledAmount: 0 } } };
    const after = {
      funnel: sumFunnel([before.funnel, { placed: 4, confirmed: 3, rejected: 1, cancelled: 1 }]),
      revenue: sumRevenue([
        { currency: 'EUR', ...before.revenue.EUR },
        { currency: 'EUR', confirmedOrders: 3, confirmedAmount: 6_000, cancelledOrders: 1, cancelledAmount: 3_000 },
      ]),
    };
    expect(
      analyticsTotalsMatch({
        orders,
        funnel: funnelDelta(before.funnel, after.funnel),
        revenue: revenueDelta(before.revenue, after.revenue),
        stock: { inventory, analytics: inventory.map((l) => ({ ...l })) },
      }),
    ).toEqual([]);
  });

  it('counts an order confirmed while its cancellation was requested, then cancelled, as confirmed and cancelled (its history shows no "confirmed"; its total does)', () => {
    // The domain confirms a live order whose cancellation is requested (order-service decide.ts) and keeps its status
    // cancellation-requested; analytics counts the OrderConfirmed and then the OrderCancelled. Found by the 20,000-order chaos soak.
    const raced = order('cancelled', [{ sku: 'K6-A', quantity: 1 }], {
      statusHistory: [
        { status: 'pending', at: at(1) },
        { status: 'cancellation-requested', at: at(2) },
        { status: 'cancelled', at: at(3) },
      ],
      total: { amount: 1_000, currency: 'EUR' },
    });
    const neverConfirmed = order('cancelled', [{ sku: 'K6-A', quantity: 1 }], {
      statusHistory: [
        { status: 'pending', at: at(1) },
        { status: 'cancellation-requested', at: at(2) },
        { status: 'cancelled', at: at(3) },
      ],
    });
    expect(neverConfirmed.total).toBeNull();
    const both = expectedAnalytics([raced, neverConfirmed]);
    expect(both.funnel).toEqual({ placed: 2, confirmed: 1, rejected: 0, cancelled: 2 });
    expect(both.revenue).toEqual({ EUR: { confirmedOrders: 1, confirmedAmount: 1_000, cancelledOrders: 1, cancelledAmount: 1_000 } });
    // Analytics that missed the confirmation is named.
    expect(
      analyticsTotalsMatch({ orders: [raced, neverConfirmed], funnel: { ...both.funnel, confirmed: 0 }, revenue: {} }),
    ).toEqual([
      'analytics funnel: confirmed 0, the order service says 1',
      'analytics revenue EUR: confirmedOrders 0, the order service says 1',
      'analytics revenue EUR: confirmedAmount 0, the order service says 1000',
      'analytics revenue EUR: cancelledOrders 0, the order service says 1',
      'analytics revenue EUR: cancelledAmount 0, the order service says 1000',
    ]);
  });

  it('catches a funnel, a revenue and a stock figure that differ, and a SKU analytics does not know', () => {
    const v = analyticsTotalsMatch({
      orders,
      funnel: { ...expected.funnel, placed: 3 },
      revenue: { EUR: { ...expected.revenue.EUR!, confirmedAmount: 5_000 } },
      stock: { inventory, analytics: [{ ...inventory[0]!, sold: 1 }] },
    });
    expect(v).toEqual([
      'analytics funnel: placed 3, the order service says 4',
      'analytics revenue EUR: confirmedAmount 5000, the order service says 6000',
      'analytics stock K6-A: sold 1, the inventory says 2',
      'analytics has no stock levels for K6-B',
    ]);
  });
});

describe('hotSkuSoldExactly', () => {
  const SKU = 'K6-RUN-HOT';
  const many = (count: number, status: string) => Array.from({ length: count }, () => order(status, [{ sku: SKU, quantity: 1 }]));
  const demand = [...many(10, 'confirmed'), ...many(40, 'rejected')];

  it('passes on a consistent fixture: exactly the stock sold, nothing reserved, stock/qty orders confirmed', () => {
    const consistent = levels(SKU, { received: 10, reserved: 0, sold: 10, available: 0 });
    expect(hotSkuSoldExactly({ sku: SKU, initialStock: 10, quantityPerOrder: 1, levels: consistent, orders: demand })).toEqual([]);
  });

  it('FAILS on an inconsistent fixture: oversold, reserved left, received != available + reserved + sold', () => {
    const inconsistent = { sku: SKU, received: 10, reserved: 2, sold: 11, available: 0, onHand: 2 };
    const orders = [...many(11, 'confirmed'), ...many(39, 'rejected')];
    const v = hotSkuSoldExactly({ sku: SKU, initialStock: 10, quantityPerOrder: 1, levels: inconsistent, orders });
    expect(v).toContain(`hot SKU ${SKU}: OVERSOLD: 11 sold of a stock of 10`);
    expect(v).toContain(`hot SKU ${SKU}: 2 unit(s) still reserved at the end`);
    expect(v).toContain(`hot SKU ${SKU}: received 10 != available 0 + reserved 2 + sold 11`);
    expect(v).toContain(`hot SKU ${SKU}: 11 order(s) confirmed, exactly 10 expected (stock 10 / 1 per order, 50 placed)`);
  });

  it('fails when less than the stock was sold although demand exceeded it', () => {
    const undersold = levels(SKU, { received: 10, sold: 9, available: 1 });
    const orders = [...many(9, 'confirmed'), ...many(41, 'rejected')];
    const v = hotSkuSoldExactly({ sku: SKU, initialStock: 10, quantityPerOrder: 1, levels: undersold, orders });
    expect(v).toContain(`hot SKU ${SKU}: 9 unit(s) sold; 50 ordered against a stock of 10, so exactly 10 must be sold`);
  });

  it('counts quantities per order, and sells exactly what was ordered when demand is below the stock (a one-iteration run)', () => {
    const twoEach = [...many(0, 'confirmed'), order('confirmed', [{ sku: SKU, quantity: 2 }]), order('confirmed', [{ sku: SKU, quantity: 2 }])];
    expect(hotSkuSoldExactly({ sku: SKU, initialStock: 10, quantityPerOrder: 2, levels: levels(SKU, { received: 10, sold: 4 }), orders: twoEach })).toEqual([]);
  });

  it('fails when an order is not terminal, or when setup\'s stock was not what was received', () => {
    const v = hotSkuSoldExactly({ sku: SKU, initialStock: 10, quantityPerOrder: 1, levels: levels(SKU, { received: 12, sold: 1, reserved: 1 }), orders: [order('confirmed', [{ sku: SKU, quantity: 1 }]), order('pending', [{ sku: SKU, quantity: 1 }])] });
    expect(v).toContain(`hot SKU ${SKU}: received 12, but setup received 10`);
    expect(v.some((x) => x.indexOf('is still pending') >= 0)).toBe(true);
  });
});

describe('Prometheus text (the soak report)', () => {
  const text = [
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 104857600',
    'nodejs_heap_size_used_bytes 52428800.5',
    'nodejs_eventloop_lag_p99_seconds 0.0125',
    'shop_projection_lag_events{projection="orders"} 3',
    'shop_projection_lag_events{projection="order_funnel",note="a \\"quoted\\" value, with a comma"} 7',
    'shop_bus_consumer_lag_messages{group="g",topic="t",partition="0"} 2 1700000000000',
    'shop_bus_consumer_lag_messages{group="g",topic="t",partition="1"} 5',
    'shop_http_request_duration_seconds_bucket{le="+Inf",route="/v1/orders"} 12',
    'garbage line {',
  ].join('\n');
  const samples = parsePrometheusText(text);

  it('reads names, labels (with escapes), values, +Inf and timestamps', () => {
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBe(104_857_600);
    expect(sampleValue(samples, 'shop_projection_lag_events', { projection: 'orders' })).toBe(3);
    expect(samples.find((s) => s.labels.projection === 'order_funnel')?.labels.note).toBe('a "quoted" value, with a comma');
    expect(sampleValue(samples, 'shop_http_request_duration_seconds_bucket', { le: '+Inf' })).toBe(12);
    expect(sumOf(samples, 'shop_bus_consumer_lag_messages')).toBe(7);
    expect(samples.some((s) => s.name === 'garbage')).toBe(false);
  });

  it('reports memory and lag in the units of the soak report', () => {
    expect(serviceHealth(samples)).toEqual({ rssMb: 100, heapUsedMb: 50, eventLoopLagP99Ms: 12.5, projectionLagEvents: 7, consumerLagMessages: 7 });
  });
});
