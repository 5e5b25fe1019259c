/**
 * The teardown every order-placing scenario ends with: it waits (bounded)
 * until the deployment is quiet, fetches snapshots through the APIs, runs the
 * pure invariants of ./invariants.ts, counts the violations in the
 * `invariant_violations` metric (threshold count==0) and fails the run
 * (k6 `fail()`, so k6 exits non-zero) when there is any, whatever the
 * latency thresholds said.
 *
 * Finding the run's orders: VUs share no memory, so the teardown asks the
 * order service. It waits until the customer's newest orders stop changing
 * in the admin list (the list is a read model), then pages the admin list
 * (newest first) down to setup's `since` (the order service's own clock):
 * every order placed since. The run's orders are those of CUSTOMER_TOKEN's
 * subject for the run's own SKUs. Any order not yet terminal is then read
 * from its stream (GET /v1/orders/{id}) until it is, at most
 * K6_SETTLE_TIMEOUT (60 s) after the load stopped.
 */
import { fail, sleep } from 'k6';
import { durationEnv, flagEnv } from './config.ts';
import type { Order, SagaSummary, Session } from './api.ts';
import { allStuckSagas, analyticsStock, discontinueProduct, getOrder, getSaga, listOrders, metricsText, ordersSince, projections, sagasSince, session, stockLevels } from './api.ts';
import type { SagaSnapshot, StockLevels } from './invariants.ts';
import {
  analyticsTotalsMatch,
  everyOrderTerminal,
  funnelDelta,
  hotSkuSoldExactly,
  isEndedSaga,
  isTerminalOrder,
  noStuckSagas,
  revenueDelta,
  stockConservation,
  stockMatchesOrders,
} from './invariants.ts';
import { invariantViolations, ordersFound } from './metrics.ts';
import { parsePrometheusText, sampleValue } from './prometheus.ts';
import type { RunData } from './setup.ts';
import { analyticsTotals } from './setup.ts';
import { info, warn } from './log.ts';

/** Repeats `attempt` until it finds no violation or the deadline passes; the last violations. */
export function settle(deadlineMs: number, attempt: () => string[], intervalS = 1): string[] {
  for (;;) {
    const v = attempt();
    if (v.length === 0 || Date.now() >= deadlineMs) return v;
    sleep(intervalS);
  }
}

/** The order service's `orders` projection lag from its /metrics, when reachable. */
function ordersProjectionLag(s: Session): number | undefined {
  const r = metricsText(s, 'order');
  if (!r?.ok) return undefined;
  return sampleValue(parsePrometheusText(r.text), 'shop_projection_lag_events', { projection: 'orders' });
}

/** Waits until the newest orders of the run's customer stop changing in the admin list (and the projection has no lag, where /metrics is reachable). */
function waitForOrderList(s: Session, data: RunData, deadlineMs: number): void {
  let previous = '';
  for (;;) {
    const r = listOrders(s, { limit: 100, ...(data.customerSub ? { customerId: data.customerSub } : {}) });
    // Which orders are listed, not their statuses (those settle later, order by order).
    const page = (r.body?.items ?? []).map((o) => o.orderId).join(',');
    const lag = ordersProjectionLag(s);
    if (r.ok && page === previous && (lag === undefined || lag === 0)) return;
    previous = page;
    if (Date.now() >= deadlineMs) return;
    sleep(2);
  }
}

export interface VerifyOptions {
  /** Also check the hot SKU (hot-sku). */
  hot?: boolean;
}

export interface Verdict {
  violations: string[];
  notes: string[];
  runOrders: Order[];
}

const touches = (o: Order, skus: Record<string, true>) => o.lines.some((l) => skus[l.sku]);

/** Runs every invariant; returns the verdict (does not fail: `verifyOrFail` does). */
export function verifyRun(data: RunData, options: VerifyOptions = {}): Verdict {
  const s = session();
  const settleMs = durationEnv('K6_SETTLE_TIMEOUT', '60s').ms;
  const started = Date.now();
  const violations: string[] = [];
  const notes: string[] = [];
  // Not push(...list): a long list would exceed the engine's argument limit.
  const report = (list: readonly string[]) => {
    for (const v of list) violations.push(v);
  };

  const own: Record<string, true> = {};
  for (const sku of data.skus) own[sku] = true;
  if (data.hot) own[data.hot.sku] = true;
  if (data.smokeSkus) own[data.smokeSkus.extra] = true;
  const skus = Object.keys(own);

  // 1. The run's orders, every one terminal within K6_SETTLE_TIMEOUT.
  waitForOrderList(s, data, started + settleMs);
  const listed = ordersSince(s, data.since);
  if (!listed.complete) violations.push(`could not list every order placed since ${data.since} (a page failed, or more than K6_MAX_PAGES pages)`);
  const all = listed.orders;
  const isRun = (o: Order) => (!data.customerSub || o.customerId === data.customerSub) && touches(o, own);
  const byId: Record<string, number> = {};
  all.forEach((o, i) => (byId[o.orderId] = i));
  // Re-read each order not yet terminal from its stream until none is left, and once more at the deadline.
  const deadline = started + settleMs;
  for (let final = false; ; ) {
    const pending = all.filter((o) => isRun(o) && !isTerminalOrder(o.status));
    if (pending.length === 0) break;
    for (const o of pending) {
      const r = getOrder(s, o.orderId, { token: s.admin, kind: 'admin', quiet: true });
      if (r.ok && r.body) all[byId[o.orderId]!] = r.body;
    }
    if (final) break;
    if (Date.now() >= deadline) final = true;
    else if (all.some((o) => isRun(o) && !isTerminalOrder(o.status))) sleep(1);
  }
  const runOrders = all.filter(isRun);
  ordersFound.add(runOrders.length);
  report(everyOrderTerminal(runOrders, { within: `${Math.round(settleMs / 1000)} s after the load stopped` }));
  notes.push(`${runOrders.length} order(s) of the run found (${all.length} placed since ${data.since}), ${runOrders.filter((o) => o.status === 'confirmed').length} confirmed, ${runOrders.filter((o) => o.status === 'rejected').length} rejected`);

  // 2. Stock: conservation and "sold = confirmed", per SKU of the run (read from the streams).
  let levels: StockLevels[] = [];
  const ordersOf = (sku: string) => all.filter((o) => o.lines.some((l) => l.sku === sku));
  report(
    settle(Date.now() + settleMs, () => {
      levels = [];
      let v: string[] = [];
      for (const sku of skus) {
        const r = stockLevels(s, sku, 'admin');
        if (r.ok && r.body) levels.push(r.body);
        else v.push(`could not read the stock of ${sku} (${r.status})`);
      }
      v = v.concat(stockConservation(levels, { adjusted: data.adjusted }), stockMatchesOrders(levels, all.filter((o) => touches(o, own)), data.stockBefore));
      if (options.hot && data.hot) {
        const hot = data.hot;
        const l = levels.filter((x) => x.sku === hot.sku)[0];
        if (l) v = v.concat(hotSkuSoldExactly({ sku: hot.sku, initialStock: hot.initialStock, quantityPerOrder: hot.quantity, levels: l, orders: ordersOf(hot.sku) }));
      }
      return v;
    }),
  );
  if (options.hot && data.hot) {
    const hot = data.hot;
    const l = levels.filter((x) => x.sku === hot.sku)[0];
    if (l) notes.push(`hot SKU ${hot.sku}: stock ${hot.initialStock}, ${ordersOf(hot.sku).length} order(s), sold ${l.sold}, reserved ${l.reserved}, available ${l.available}`);
  }

  // 3. Sagas: each order's place-order saga ended as its order did, none failed or stuck.
  const runIds: Record<string, true> = {};
  for (const o of runOrders) runIds[o.orderId] = true;
  const listedSagas = sagasSince(s, data.since);
  const sagas: Record<string, SagaSnapshot> = {};
  for (const saga of listedSagas.sagas as SagaSummary[]) if (runIds[saga.orderId]) sagas[saga.id] = saga;
  report(
    settle(Date.now() + settleMs, () => {
      for (const o of runOrders) {
        const id = `place-order-${o.orderId}`;
        const known = sagas[id];
        if (known && isEndedSaga(known.status)) continue;
        const r = getSaga(s, id, [200, 404]);
        if (r.status === 200 && r.body) sagas[id] = { id, type: r.body.type, orderId: r.body.orderId, status: r.body.status };
      }
      for (const id of Object.keys(sagas)) {
        const saga = sagas[id]!;
        if (saga.type !== 'place-order' && !isEndedSaga(saga.status)) {
          const r = getSaga(s, id, [200, 404]);
          if (r.status === 200 && r.body) sagas[id] = { id, type: r.body.type, orderId: r.body.orderId, status: r.body.status };
        }
      }
      const list = Object.keys(sagas).map((k) => sagas[k]!);
      return noStuckSagas(runOrders, list, allStuckSagas(s));
    }),
  );

  // 4. Analytics: what it counted since setup equals the order service's orders, and its stock the inventory's.
  if (data.analytics && flagEnv('K6_CHECK_ANALYTICS', true)) {
    const baseline = data.analytics;
    // A SKU without any stock event (the smoke's product without stock) has no row in analytics.
    const inventory = levels.filter((l) => l.received !== 0 || l.onHand !== 0 || l.sold !== 0 || l.reserved !== 0);
    const analyticsViolations = settle(Date.now() + settleMs, () => {
      const totals = analyticsTotals(s, baseline.range);
      if (!totals) return ['could not read analytics\' funnel or revenue'];
      const stock: StockLevels[] = [];
      for (let i = 0; i < skus.length; i += 100) {
        const r = analyticsStock(s, skus.slice(i, i + 100));
        if (r.ok && r.body) stock.push(...r.body.items);
      }
      return analyticsTotalsMatch({
        orders: all,
        funnel: funnelDelta(baseline.funnel, totals.funnel),
        revenue: revenueDelta(baseline.revenue, totals.revenue),
        stock: { inventory, analytics: stock },
      });
    }, 2);
    if (analyticsViolations.length > 0) {
      const p = projections(s);
      const lagging = (p.body?.items ?? []).filter((x) => x.lag > 0 || x.state !== 'live').map((x) => `${x.name} ${x.state} lag ${x.lag}`);
      if (lagging.length) analyticsViolations.push(`analytics projections behind after ${Math.round(settleMs / 1000)} s: ${lagging.join(', ')}`);
    }
    report(analyticsViolations);
    notes.push(
      'analytics compared over the run: its totals since setup against every order placed since (any writer other than this run in that window makes them differ; K6_CHECK_ANALYTICS=0 skips)',
    );
  }

  // 5. Leave the catalog as found: the run's products off sale (K6_KEEP_PRODUCTS=1 keeps them).
  if (!flagEnv('K6_KEEP_PRODUCTS', false)) for (const sku of skus) discontinueProduct(s, sku);

  return { violations, notes, runOrders };
}

/** verifyRun, then the verdict: the violations are counted (invariant_violations) and the run fails on any. */
export function verifyOrFail(data: RunData, options: VerifyOptions = {}): Verdict {
  const verdict = verifyRun(data, options);
  invariantViolations.add(0);
  if (verdict.violations.length > 0) invariantViolations.add(verdict.violations.length);
  for (const n of verdict.notes) info(`teardown: ${n}`);
  if (verdict.violations.length > 0) {
    const shown = verdict.violations.slice(0, 50);
    for (const v of shown) warn(`invariant violated: ${v}`);
    fail(
      `${verdict.violations.length} invariant violation(s) in run ${data.runId}:\n  ${shown.join('\n  ')}${verdict.violations.length > shown.length ? `\n  ... and ${verdict.violations.length - shown.length} more` : ''}`,
    );
  }
  info(`teardown: run ${data.runId}: every invariant holds`);
  return verdict;
}
