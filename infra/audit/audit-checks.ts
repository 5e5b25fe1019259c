/**
 * The cross-service auditor's checks: pure functions over what each
 * service's own API answered (`AuditSnapshot`, gathered by
 * `audit-snapshot.ts`). Each violation names the check and the ids to look
 * at. The invariants shared with the k6 teardowns come from
 * `infra/k6/lib/invariants.ts`, so a load test and the auditor judge alike.
 */
import {
  analyticsTotalsMatch,
  everyOrderTerminal,
  noStuckSagas,
  stockConservation,
  stockMatchesOrders,
  sumFunnel,
  sumRevenue,
  type FunnelTotals,
  type OrderSnapshot,
  type SagaSnapshot,
  type StockLevels,
} from '../k6/lib/invariants';

export interface AuditedOrder extends OrderSnapshot {
  paymentStatus: string;
}

export interface AuditSnapshot {
  orders: AuditedOrder[];
  sagas: SagaSnapshot[];
  stuckSagas: SagaSnapshot[];
  /** Per SKU, the inventory's levels read from the SKU's stream (always current). */
  stock: StockLevels[];
  /** The inventory's stock-levels read model for the same SKUs. */
  inventoryReadModel: { sku: string; onHand: number; reserved: number; available: number }[];
  /** Analytics' stock read model for the same SKUs. */
  analyticsStock: StockLevels[];
  analyticsFunnel: FunnelTotals[];
  analyticsRevenue: Parameters<typeof sumRevenue>[0];
  /** Every lag gauge a service's /metrics exposes: outbox relay, consumer groups, projections. */
  lags: { service: string; metric: string; labels: string; value: number }[];
}

export interface Violation {
  check: string;
  message: string;
}

const PAYMENT_OF: Record<string, readonly string[]> = {
  confirmed: ['authorized'],
  rejected: ['none', 'declined', 'timed-out', 'voided'],
  cancelled: ['none', 'declined', 'timed-out', 'voided'],
};

/** Every check, in a fixed order; an empty list is a clean audit. */
export function auditChecks(s: AuditSnapshot): Violation[] {
  const tag = (check: string) => (messages: string[]) => messages.map((message) => ({ check, message }));
  const violations: Violation[] = [];

  violations.push(...tag('orders terminal')(everyOrderTerminal(s.orders)));
  violations.push(
    ...tag('order payments')(
      s.orders.flatMap((o) => {
        const allowed = PAYMENT_OF[o.status];
        return allowed && !allowed.includes(o.paymentStatus) ? [`order ${o.orderId} is ${o.status} with payment ${o.paymentStatus} (expected ${allowed.join(' or ')})`] : [];
      }),
    ),
  );
  violations.push(...tag('sagas')(noStuckSagas(s.orders, s.sagas, s.stuckSagas)));
  violations.push(...tag('sagas agree with orders')(sagasAgreeWithOrders(s.orders, s.sagas)));
  violations.push(...tag('stock conservation')(stockConservation(s.stock)));
  violations.push(...tag('stock sold matches orders')(stockMatchesOrders(s.stock, s.orders)));
  const pending = s.orders.some((o) => o.status === 'pending' || o.status === 'cancellation-requested');
  if (!pending) {
    violations.push(...tag('no reservation without an open order')(s.stock.filter((l) => l.reserved !== 0).map((l) => `${l.sku} holds ${l.reserved} reserved unit(s) while no order is open`)));
  }
  violations.push(...tag('inventory read model')(readModelMatches(s.stock, s.inventoryReadModel)));
  violations.push(
    ...tag('analytics totals')(
      analyticsTotalsMatch({
        orders: s.orders,
        funnel: sumFunnel(s.analyticsFunnel),
        revenue: sumRevenue(s.analyticsRevenue),
        // A SKU the inventory never had stock for (an unknown one an order named, say) reads as zeros and has no analytics row.
        stock: { inventory: s.stock.filter((l) => l.received !== 0 || l.onHand !== 0 || l.reserved !== 0 || l.sold !== 0), analytics: s.analyticsStock },
      }),
    ),
  );
  violations.push(...tag('lag')(s.lags.filter((l) => l.value !== 0).map((l) => `${l.service} ${l.metric}{${l.labels}} = ${l.value}, not 0 on an idle stack`)));
  return violations;
}

/** A place-order saga's end agrees with its order: completed ↔ confirmed (or cancelled later), rejected ↔ rejected. */
export function sagasAgreeWithOrders(orders: readonly OrderSnapshot[], sagas: readonly SagaSnapshot[]): string[] {
  const byOrder = new Map(orders.map((o) => [o.orderId, o]));
  const violations: string[] = [];
  for (const saga of sagas.filter((x) => x.type === 'place-order')) {
    const order = byOrder.get(saga.orderId);
    if (!order) {
      violations.push(`saga ${saga.id} is for order ${saga.orderId}, which the order service does not know`);
      continue;
    }
    const agrees =
      saga.status === 'completed' ? order.status === 'confirmed' || order.status === 'cancelled' : saga.status === 'rejected' ? order.status === 'rejected' : true;
    if (!agrees) violations.push(`saga ${saga.id} ended ${saga.status}, but order ${order.orderId} is ${order.status}`);
  }
  return violations;
}

/** The stock-levels read model against the streams, SKU by SKU. */
export function readModelMatches(stream: readonly StockLevels[], model: AuditSnapshot['inventoryReadModel']): string[] {
  const bySku = new Map(model.map((m) => [m.sku, m]));
  const violations: string[] = [];
  for (const l of stream) {
    const m = bySku.get(l.sku);
    if (!m) {
      if (l.received !== 0 || l.onHand !== 0) violations.push(`the inventory's stock-levels read model has no row for ${l.sku}`);
      continue;
    }
    for (const k of ['onHand', 'reserved', 'available'] as const) {
      if (m[k] !== l[k]) violations.push(`the inventory's stock-levels read model says ${l.sku} ${k} ${m[k]}, its stream says ${l[k]}`);
    }
  }
  return violations;
}

/** `name{labels} value` lines of a Prometheus text scrape whose metric name ends in `_lag_*`. */
export function lagsOf(service: string, scrape: string): AuditSnapshot['lags'] {
  const lags: AuditSnapshot['lags'] = [];
  for (const line of scrape.split('\n')) {
    const m = /^(shop_[a-z_]*_lag_[a-z]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m) lags.push({ service, metric: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return lags;
}
