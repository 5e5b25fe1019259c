/**
 * smoke: one VU, one iteration, every public and admin endpoint once (the
 * SSE stream /v1/stream of the analytics dashboard aside), every check must
 * pass (checks rate==1, http_req_failed rate==0), then the teardown's
 * invariants. /healthz, /readyz and /metrics only where reachable (local, or
 * CATALOG_OPS_URL etc.): the gateway and the ingress do not route them.
 *
 *   k6 run infra/k6/scenarios/smoke.ts
 */
import { check } from 'k6';
import type { Options } from 'k6/options';
import type { Service } from '../lib/config.ts';
import { SERVICES } from '../lib/config.ts';
import {
  abortSaga,
  adjustStock,
  addProduct,
  alertHistory,
  alertRules,
  alerts,
  analyticsStock,
  cancelOrder,
  changeProductDetails,
  createAlertRule,
  dashboardPage,
  deleteAlertRule,
  discontinueProduct,
  followUntilTerminal,
  funnel,
  getAlertRule,
  getOrder,
  getProduct,
  getSaga,
  header,
  healthz,
  listOrders,
  listSagas,
  liveOrders,
  metricsText,
  openapi,
  projections,
  readyz,
  replaceAlertRule,
  retrySaga,
  revenue,
  sagaLatency,
  session,
  setProductPrice,
  stockOuts,
  stuckSagas,
  topProducts,
} from '../lib/api.ts';
import type { AlertRuleSettings } from '../lib/api.ts';
import { browse as browseFlow, placeAndFollow } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { SMOKE_ADJUSTMENT, analyticsRange, prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import { ALL_ENDPOINTS, INVARIANT_THRESHOLDS, SUMMARY_TREND_STATS, merge, trackEndpoints } from '../lib/thresholds.ts';

export const options: Options = {
  scenarios: {
    smoke: { executor: 'per-vu-iterations', exec: 'smoke', vus: 1, iterations: 1, maxDuration: '5m' },
  },
  thresholds: merge({ checks: ['rate==1'], http_req_failed: ['rate==0'] }, INVARIANT_THRESHOLDS, trackEndpoints(ALL_ENDPOINTS)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '5m',
};

export function setup(): RunData {
  return prepareRun('smoke', { browse: true, checkout: true, smoke: true, skuCount: 1, expectedDurationMs: 10 * 60_000 });
}

export function smoke(data: RunData): void {
  const s = session();
  const sku = data.skus[0]!;
  const extra = data.smokeSkus!.extra;

  // Every service: its OpenAPI document, and (where reachable) health, readiness, metrics.
  for (const svc of SERVICES as readonly Service[]) {
    const doc = openapi(s, svc);
    check(doc, { [`${svc}.openapi is OpenAPI 3.1 with paths`]: (r) => r.body?.openapi === '3.1.0' && Object.keys(r.body.paths ?? {}).length > 0 });
    healthz(s, svc);
    readyz(s, svc);
    const m = metricsText(s, svc);
    if (m) check(m, { [`${svc}.metrics is Prometheus text`]: (r) => r.text.indexOf('# TYPE') >= 0 });
  }
  dashboardPage(s);

  // Catalog and inventory, public: list, search, filter, next page, one product, availability.
  browseFlow(data);

  // Catalog and inventory, admin.
  addProduct(s, { sku: extra, name: `k6 smoke extra ${extra}`, description: 'Added and discontinued by the k6 smoke.', category: 'k6-load', price: { amount: 990, currency: 'EUR' } });
  changeProductDetails(s, sku, { description: `Changed by the k6 smoke of run ${data.runId}.` });
  const product = getProduct(s, sku);
  const price = product.body?.price ?? { amount: 1_000, currency: 'EUR' };
  setProductPrice(s, sku, { amount: price.amount + 100, currency: price.currency });
  discontinueProduct(s, extra);
  check(getProduct(s, extra), { 'catalog.get shows the extra product discontinued': (r) => r.body?.status === 'discontinued' });
  const adjusted = adjustStock(s, sku, SMOKE_ADJUSTMENT, 'k6 smoke: counted more than recorded');
  check(adjusted, { 'inventory.adjust adds to on hand, not to received': (r) => !!r.body && r.body.received === data.stockBefore[sku]!.received });

  // Orders: one approved, one declined; the approved one cancelled after confirmation.
  const confirmed = placeAndFollow(data, [{ sku, quantity: 1 }], { token: 'tok_approve', kind: 'approve' }, { keySuffix: 'a' });
  check(confirmed, { 'an approved order is confirmed': (o) => o?.status === 'confirmed' });
  const declined = placeAndFollow(data, [{ sku, quantity: 2 }], { token: 'tok_decline', kind: 'decline' }, { keySuffix: 'b' });
  check(declined, { 'a declined order is rejected': (o) => o?.status === 'rejected' });
  listOrders(s, { limit: 5 }, { token: s.customer, kind: 'read' });
  if (data.customerSub) listOrders(s, { limit: 5, customerId: data.customerSub });
  if (confirmed) {
    getOrder(s, confirmed.orderId, { token: s.admin, kind: 'admin' });
    const cancel = cancelOrder(s, confirmed.orderId, 'k6 smoke: changed my mind');
    const location = header(cancel.headers, 'Location');
    if (cancel.ok && location) {
      const followed = followUntilTerminal(s, location, 30_000, { statuses: ['cancelled'] });
      check(followed, { 'a cancelled order ends cancelled': (f) => f.order?.status === 'cancelled' });
    }
  }

  // Coordinator: lists, one saga, and the operator's actions on an ended saga (409).
  listSagas(s, { limit: 5 });
  listSagas(s, { limit: 5, status: 'completed', type: 'place-order' });
  stuckSagas(s, { limit: 5 });
  if (confirmed) {
    const saga = getSaga(s, `place-order-${confirmed.orderId}`);
    check(saga, { 'coordinator.saga of the confirmed order completed': (r) => r.body?.status === 'completed' });
    getSaga(s, `cancel-order-${confirmed.orderId}`);
    retrySaga(s, `place-order-${confirmed.orderId}`, [409]);
    abortSaga(s, `place-order-${confirmed.orderId}`, 'k6 smoke: an ended saga cannot be aborted', [409]);
  }

  // Analytics: every read, and an alert rule's whole life.
  const range = analyticsRange(data.since);
  funnel(s, range);
  revenue(s, range);
  sagaLatency(s, range);
  topProducts(s, 10, 'units');
  topProducts(s, 10, 'revenue');
  analyticsStock(s, [sku]);
  stockOuts(s, sku);
  liveOrders(s, 20);
  projections(s);
  alerts(s);
  alertHistory(s);
  const settings: AlertRuleSettings = {
    name: `k6 smoke ${data.runId}`,
    metric: 'rejection_rate',
    comparator: 'above',
    threshold: 0.99,
    windowMinutes: 5,
    minSamples: 1_000_000,
    severity: 'info',
    enabled: false,
  };
  const rule = createAlertRule(s, settings);
  alertRules(s);
  if (rule.body) {
    const got = getAlertRule(s, rule.body.id);
    check(got, { 'analytics.alert-rule is the rule created': (r) => r.body?.name === settings.name });
    replaceAlertRule(s, rule.body.id, rule.body.version, { ...settings, threshold: 0.98 });
    deleteAlertRule(s, rule.body.id);
  }
}

export function teardown(data: RunData): void {
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('smoke');
