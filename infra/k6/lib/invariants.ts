/**
 * The invariants a load run must leave intact, as PURE functions: each takes
 * snapshots the teardown fetched through the services' APIs and returns the
 * violations it finds, one readable string each (empty: the invariant holds).
 *
 * No k6 import and no import at all: the scenarios (k6) and the unit tests
 * (vitest, infra/test/k6-invariants.unit.spec.ts) load this same file.
 */

/** `StockLevels` of the inventory service (GET /v1/stock/{sku}) and of analytics (GET /v1/stock). */
export interface StockLevels {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  sold: number;
  received: number;
}

export interface Money {
  amount: number;
  currency: string;
}

/** The fields of the order service's `Order` view the invariants read. */
export interface OrderSnapshot {
  orderId: string;
  customerId: string;
  status: string;
  lines: { sku: string; quantity: number }[];
  total: Money | null;
  placedAt: string;
  statusHistory: { status: string; at: string; reason?: string }[];
}

/** The fields of the coordinator's `SagaSummary` / `Saga` the invariants read. */
export interface SagaSnapshot {
  id: string;
  type: string;
  orderId: string;
  status: string;
}

/** Sums of analytics' order funnel (GET /v1/funnel) over a range. */
export interface FunnelTotals {
  placed: number;
  confirmed: number;
  rejected: number;
  cancelled: number;
}

/** Sums of analytics' revenue series (GET /v1/revenue) over a range, per currency. */
export type RevenueTotals = Record<string, { confirmedOrders: number; confirmedAmount: number; cancelledOrders: number; cancelledAmount: number }>;

/** The order service's terminal statuses (order-service/src/orders/order.ts; infra/deploy/smoke-order.ts TERMINAL). */
export const TERMINAL_ORDER_STATUSES: readonly string[] = ['confirmed', 'rejected', 'cancelled'];
/** The coordinator's end statuses (coordinator-service/src/sagas/saga-state.ts END_STATUSES). */
export const ENDED_SAGA_STATUSES: readonly string[] = ['completed', 'rejected', 'cancelled'];

export const isTerminalOrder = (status: string): boolean => TERMINAL_ORDER_STATUSES.indexOf(status) >= 0;
export const isEndedSaga = (status: string): boolean => ENDED_SAGA_STATUSES.indexOf(status) >= 0;
/**
 * Whether the order was confirmed at some point (still confirmed, or cancelled after its confirmation). Its total is
 * set by OrderConfirmed only (order-service view.ts), and it is the one sign of a confirmation that came while the
 * order's cancellation was requested: the domain confirms such an order and keeps its status cancellation-requested,
 * so its status history never shows "confirmed", yet analytics counts it confirmed, then cancelled.
 */
export const wasConfirmed = (order: OrderSnapshot): boolean =>
  order.status === 'confirmed' || order.total !== null || order.statusHistory.some((h) => h.status === 'confirmed');

const union = (a: readonly string[], b: readonly string[]) => a.concat(b.filter((x) => a.indexOf(x) < 0));

const fmt = (l: StockLevels) =>
  `received ${l.received}, available ${l.available}, reserved ${l.reserved}, sold ${l.sold}, onHand ${l.onHand}`;

/**
 * Stock conservation per SKU. Always: onHand = available + reserved, and no
 * figure below zero. Without `before`: received + adjusted = available +
 * reserved + sold (the SKU's whole life; `adjusted` is the sum of the
 * adjustments made to it, which no endpoint reports: 0 for a SKU the run
 * created and never adjusted). With `before` (a snapshot from the run's
 * setup): the same identity over the run's changes.
 */
export function stockConservation(
  after: readonly StockLevels[],
  options: { before?: Record<string, StockLevels>; adjusted?: Record<string, number> } = {},
): string[] {
  const violations: string[] = [];
  for (const l of after) {
    const adjusted = options.adjusted?.[l.sku] ?? 0;
    if (l.onHand !== l.available + l.reserved) violations.push(`stock ${l.sku}: onHand ${l.onHand} != available ${l.available} + reserved ${l.reserved}`);
    for (const field of ['onHand', 'reserved', 'available', 'sold', 'received'] as const) {
      if (l[field] < 0) violations.push(`stock ${l.sku}: ${field} is negative (${l[field]})`);
    }
    const b = options.before?.[l.sku];
    if (b) {
      const dIn = l.received - b.received + adjusted;
      const dOut = l.available - b.available + (l.reserved - b.reserved) + (l.sold - b.sold);
      if (dIn !== dOut) {
        violations.push(
          `stock ${l.sku}: not conserved over the run: received ${l.received - b.received}` +
            `${adjusted ? ` + adjusted ${adjusted}` : ''} != Δavailable ${l.available - b.available} + Δreserved ${l.reserved - b.reserved} + Δsold ${l.sold - b.sold}`,
        );
      }
    } else if (l.received + adjusted !== l.available + l.reserved + l.sold) {
      violations.push(
        `stock ${l.sku}: not conserved: received ${l.received}${adjusted ? ` + adjusted ${adjusted}` : ''} != available ${l.available} + reserved ${l.reserved} + sold ${l.sold}`,
      );
    }
  }
  return violations;
}

/**
 * The stock agrees with the orders, per SKU, once every order is terminal:
 * nothing is left reserved (beyond what was reserved before the run), and
 * the units sold during the run are the units of the orders confirmed (a
 * cancellation after confirmation restocks them). `orders` must be every
 * order placed since the run began that touches these SKUs.
 */
export function stockMatchesOrders(after: readonly StockLevels[], orders: readonly OrderSnapshot[], before: Record<string, StockLevels> = {}): string[] {
  const violations: string[] = [];
  const confirmedUnits: Record<string, number> = {};
  for (const o of orders) {
    if (o.status !== 'confirmed') continue;
    for (const line of o.lines) confirmedUnits[line.sku] = (confirmedUnits[line.sku] ?? 0) + line.quantity;
  }
  for (const l of after) {
    const b = before[l.sku];
    const reservedBefore = b?.reserved ?? 0;
    const soldDuring = l.sold - (b?.sold ?? 0);
    const expected = confirmedUnits[l.sku] ?? 0;
    if (l.reserved !== reservedBefore) violations.push(`stock ${l.sku}: ${l.reserved - reservedBefore} unit(s) still reserved with every order terminal (${fmt(l)})`);
    if (soldDuring !== expected) violations.push(`stock ${l.sku}: ${soldDuring} unit(s) sold during the run, but the confirmed orders hold ${expected}`);
  }
  return violations;
}

/** Every accepted order reached confirmed, rejected or cancelled; `expectedAtLeast` also catches orders the listing lost. */
export function everyOrderTerminal(orders: readonly OrderSnapshot[], options: { expectedAtLeast?: number; within?: string } = {}): string[] {
  const violations = orders
    .filter((o) => !isTerminalOrder(o.status))
    .map((o) => `order ${o.orderId} is still ${o.status}${options.within ? ` ${options.within}` : ''} (placed ${o.placedAt})`);
  if (options.expectedAtLeast !== undefined && orders.length < options.expectedAtLeast) {
    violations.push(`${options.expectedAtLeast} order(s) accepted, only ${orders.length} found through the order service`);
  }
  return violations;
}

/** The place-order saga's end status each terminal order status allows. */
const SAGA_FOR_ORDER: Record<string, readonly string[]> = {
  confirmed: ['completed'],
  rejected: ['rejected'],
  // Cancelled after confirmation (the place-order saga completed, then the cancel-order saga), or while the place-order saga ran.
  cancelled: ['completed', 'cancelled'],
};

/**
 * No stuck saga: each order has a place-order saga that ended, with the end
 * the order's status implies; no saga of these orders failed, none is still
 * running or compensating, and none is in the coordinator's stuck list.
 */
export function noStuckSagas(orders: readonly OrderSnapshot[], sagas: readonly SagaSnapshot[], stuck: readonly SagaSnapshot[] = []): string[] {
  const violations: string[] = [];
  const ids: Record<string, true> = {};
  for (const o of orders) ids[o.orderId] = true;
  const placeOrder: Record<string, SagaSnapshot> = {};
  for (const s of sagas) {
    if (!ids[s.orderId]) continue;
    if (s.type === 'place-order') placeOrder[s.orderId] = s;
    if (!isEndedSaga(s.status)) violations.push(`saga ${s.id} is ${s.status}`);
  }
  for (const o of orders) {
    const saga = placeOrder[o.orderId];
    if (!saga) {
      violations.push(`order ${o.orderId} (${o.status}) has no place-order saga`);
      continue;
    }
    const allowed = SAGA_FOR_ORDER[o.status];
    if (allowed && isEndedSaga(saga.status) && allowed.indexOf(saga.status) < 0) {
      violations.push(`saga ${saga.id} ended ${saga.status}, but order ${o.orderId} is ${o.status}`);
    }
  }
  for (const s of stuck) if (ids[s.orderId]) violations.push(`saga ${s.id} is in the stuck list (${s.status})`);
  return violations;
}

/** What analytics should count for `orders` (every order placed in the compared range): the order service's side. */
export function expectedAnalytics(orders: readonly OrderSnapshot[]): { funnel: FunnelTotals; revenue: RevenueTotals } {
  const funnel: FunnelTotals = { placed: orders.length, confirmed: 0, rejected: 0, cancelled: 0 };
  const revenue: RevenueTotals = {};
  for (const o of orders) {
    if (o.status === 'rejected') funnel.rejected++;
    if (o.status === 'cancelled') funnel.cancelled++;
    if (!wasConfirmed(o)) continue;
    funnel.confirmed++;
    if (!o.total) continue;
    const r = revenue[o.total.currency] || (revenue[o.total.currency] = { confirmedOrders: 0, confirmedAmount: 0, cancelledOrders: 0, cancelledAmount: 0 });
    r.confirmedOrders++;
    r.confirmedAmount += o.total.amount;
    if (o.status === 'cancelled') {
      r.cancelledOrders++;
      r.cancelledAmount += o.total.amount;
    }
  }
  return { funnel, revenue };
}

/** Sums funnel points (`GET /v1/funnel` → points). */
export function sumFunnel(points: readonly FunnelTotals[]): FunnelTotals {
  const t: FunnelTotals = { placed: 0, confirmed: 0, rejected: 0, cancelled: 0 };
  for (const p of points) {
    t.placed += p.placed;
    t.confirmed += p.confirmed;
    t.rejected += p.rejected;
    t.cancelled += p.cancelled;
  }
  return t;
}

/** Sums revenue points (`GET /v1/revenue` → points) per currency. */
export function sumRevenue(
  points: readonly { currency: string; confirmedOrders: number; confirmedAmount: number; cancelledOrders: number; cancelledAmount: number }[],
): RevenueTotals {
  const t: RevenueTotals = {};
  for (const p of points) {
    const r = t[p.currency] || (t[p.currency] = { confirmedOrders: 0, confirmedAmount: 0, cancelledOrders: 0, cancelledAmount: 0 });
    r.confirmedOrders += p.confirmedOrders;
    r.confirmedAmount += p.confirmedAmount;
    r.cancelledOrders += p.cancelledOrders;
    r.cancelledAmount += p.cancelledAmount;
  }
  return t;
}

/** `after - before`, field by field (the run's share of a total read at setup and at teardown). */
export function funnelDelta(before: FunnelTotals, after: FunnelTotals): FunnelTotals {
  return {
    placed: after.placed - before.placed,
    confirmed: after.confirmed - before.confirmed,
    rejected: after.rejected - before.rejected,
    cancelled: after.cancelled - before.cancelled,
  };
}

export function revenueDelta(before: RevenueTotals, after: RevenueTotals): RevenueTotals {
  const out: RevenueTotals = {};
  for (const currency of union(Object.keys(before), Object.keys(after))) {
    const a = after[currency] ?? { confirmedOrders: 0, confirmedAmount: 0, cancelledOrders: 0, cancelledAmount: 0 };
    const b = before[currency] ?? { confirmedOrders: 0, confirmedAmount: 0, cancelledOrders: 0, cancelledAmount: 0 };
    out[currency] = {
      confirmedOrders: a.confirmedOrders - b.confirmedOrders,
      confirmedAmount: a.confirmedAmount - b.confirmedAmount,
      cancelledOrders: a.cancelledOrders - b.cancelledOrders,
      cancelledAmount: a.cancelledAmount - b.cancelledAmount,
    };
  }
  return out;
}

const zeroRevenue = (r: RevenueTotals[string] | undefined) =>
  !r || (r.confirmedOrders === 0 && r.confirmedAmount === 0 && r.cancelledOrders === 0 && r.cancelledAmount === 0);

/**
 * Analytics' totals equal the order service's: the funnel (placed,
 * confirmed, rejected, cancelled) and revenue per currency that analytics
 * counted over the run (`funnel`, `revenue`: deltas between setup and
 * teardown) against the same figures computed from the order service's own
 * orders (`orders`: every order placed since the run began); and, per SKU,
 * analytics' stock levels against the inventory's.
 */
export function analyticsTotalsMatch(input: {
  orders: readonly OrderSnapshot[];
  funnel: FunnelTotals;
  revenue?: RevenueTotals;
  stock?: { inventory: readonly StockLevels[]; analytics: readonly StockLevels[] };
}): string[] {
  const violations: string[] = [];
  const expected = expectedAnalytics(input.orders);
  for (const k of ['placed', 'confirmed', 'rejected', 'cancelled'] as const) {
    if (input.funnel[k] !== expected.funnel[k]) violations.push(`analytics funnel: ${k} ${input.funnel[k]}, the order service says ${expected.funnel[k]}`);
  }
  if (input.revenue) {
    for (const currency of union(Object.keys(expected.revenue), Object.keys(input.revenue))) {
      const e = expected.revenue[currency];
      const a = input.revenue[currency];
      if (zeroRevenue(e) && zeroRevenue(a)) continue;
      for (const k of ['confirmedOrders', 'confirmedAmount', 'cancelledOrders', 'cancelledAmount'] as const) {
        const ev = e?.[k] ?? 0;
        const av = a?.[k] ?? 0;
        if (ev !== av) violations.push(`analytics revenue ${currency}: ${k} ${av}, the order service says ${ev}`);
      }
    }
  }
  if (input.stock) {
    const bySku: Record<string, StockLevels> = {};
    for (const l of input.stock.analytics) bySku[l.sku] = l;
    for (const inv of input.stock.inventory) {
      const a = bySku[inv.sku];
      if (!a) {
        violations.push(`analytics has no stock levels for ${inv.sku}`);
        continue;
      }
      for (const k of ['onHand', 'reserved', 'available', 'sold', 'received'] as const) {
        if (a[k] !== inv[k]) violations.push(`analytics stock ${inv.sku}: ${k} ${a[k]}, the inventory says ${inv[k]}`);
      }
    }
  }
  return violations;
}

/**
 * Hot SKU: many concurrent orders of `quantityPerOrder` units for one SKU
 * that received `initialStock` units in setup and nothing else. Exactly
 * min(initialStock, units ordered) units are sold, never more; nothing stays
 * reserved; conservation holds; the confirmed orders are exactly that many
 * units' worth (initialStock / quantityPerOrder when demand exceeds the
 * stock), and every order is terminal. `orders`: every order placed for the
 * SKU since setup.
 */
export function hotSkuSoldExactly(input: { sku: string; initialStock: number; quantityPerOrder: number; levels: StockLevels; orders: readonly OrderSnapshot[] }): string[] {
  const { sku, initialStock, quantityPerOrder: q, levels: l, orders } = input;
  const violations: string[] = [];
  if (l.sku !== sku) violations.push(`hot SKU: levels of ${l.sku} given for ${sku}`);
  if (l.received !== initialStock) violations.push(`hot SKU ${sku}: received ${l.received}, but setup received ${initialStock}`);
  if (l.sold > initialStock) violations.push(`hot SKU ${sku}: OVERSOLD: ${l.sold} sold of a stock of ${initialStock}`);
  if (l.reserved !== 0) violations.push(`hot SKU ${sku}: ${l.reserved} unit(s) still reserved at the end`);
  if (l.received !== l.available + l.reserved + l.sold) {
    violations.push(`hot SKU ${sku}: received ${l.received} != available ${l.available} + reserved ${l.reserved} + sold ${l.sold}`);
  }
  const units = orders.reduce((n, o) => n + o.lines.filter((x) => x.sku === sku).reduce((m, x) => m + x.quantity, 0), 0);
  const expectedSold = Math.floor(Math.min(units, initialStock) / q) * q;
  const expectedConfirmed = expectedSold / q;
  const confirmed = orders.filter((o) => o.status === 'confirmed');
  if (l.sold !== expectedSold) {
    violations.push(`hot SKU ${sku}: ${l.sold} unit(s) sold; ${units} ordered against a stock of ${initialStock}, so exactly ${expectedSold} must be sold`);
  }
  if (confirmed.length !== expectedConfirmed) {
    violations.push(`hot SKU ${sku}: ${confirmed.length} order(s) confirmed, exactly ${expectedConfirmed} expected (stock ${initialStock} / ${q} per order, ${orders.length} placed)`);
  }
  const confirmedUnits = confirmed.reduce((n, o) => n + o.lines.filter((x) => x.sku === sku).reduce((m, x) => m + x.quantity, 0), 0);
  if (confirmedUnits !== l.sold) violations.push(`hot SKU ${sku}: confirmed orders hold ${confirmedUnits} unit(s), the inventory sold ${l.sold}`);
  if (units >= initialStock && l.available !== initialStock - expectedSold) {
    violations.push(`hot SKU ${sku}: ${l.available} available after demand of ${units} for a stock of ${initialStock}`);
  }
  return violations.concat(everyOrderTerminal(orders));
}
