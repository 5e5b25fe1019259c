/**
 * What a scenario's setup() prepares, returned as k6's setup data (plain
 * JSON, handed to every VU and to teardown):
 *
 * - the run's id, and `since`: the order service's own clock (its `Date`
 *   header) when the run began. VUs share no memory in k6, so the teardown
 *   finds the run's orders through the API: the admin order list, newest
 *   first, down to `since`, keeping the orders of CUSTOMER_TOKEN's subject
 *   for the run's own SKUs;
 * - the run's own products (`K6-<runId>-NN`, category `k6-load`), created
 *   through the catalog's admin API and given stock through the inventory's,
 *   so stock conservation and "units sold = units confirmed" are exact per
 *   SKU whatever else the deployment holds; their levels right after;
 * - for hot-sku, one product with a known stock;
 * - for browse, a sample of the catalog (SKUs, categories, words of names);
 * - analytics' funnel and revenue totals at the start (the teardown compares
 *   what analytics counted since with what the order service holds).
 */
import { fail, sleep } from 'k6';
import type { FunnelTotals, RevenueTotals, StockLevels } from './invariants.ts';
import { sumFunnel, sumRevenue } from './invariants.ts';
import type { Service } from './config.ts';
import { SERVICES, durationEnv, flagEnv, newRunId, numberEnv, requireTokens } from './config.ts';
import type { Session, TimeRange } from './api.ts';
import {
  addProduct,
  describe,
  funnel,
  header,
  listOrders,
  listProducts,
  listSagas,
  metricsText,
  openapi,
  projections,
  receiveStock,
  revenue,
  session,
  stockLevels,
} from './api.ts';
import type { ServiceHealth } from './prometheus.ts';
import { parsePrometheusText, serviceHealth } from './prometheus.ts';
import { info, warn } from './log.ts';

export interface RunData {
  scenario: string;
  runId: string;
  /** The order service's clock when the run began (ISO 8601, whole seconds). */
  since: string;
  /** This machine's clock at the end of setup (ms). */
  startedAtMs: number;
  target: string;
  customerSub?: string;
  /** The run's own SKUs for checkout (empty for browse-only runs). */
  skus: string[];
  /** Their levels right after setup. */
  stockBefore: Record<string, StockLevels>;
  /** Adjustments the run makes to its own SKUs (smoke), for conservation. */
  adjusted: Record<string, number>;
  catalog?: { skus: string[]; categories: string[]; words: string[] };
  hot?: { sku: string; initialStock: number; quantity: number };
  analytics?: { range: TimeRange; funnel: FunnelTotals; revenue: RevenueTotals };
  /** Memory and lag of each service at the start (soak), where /metrics is reachable. */
  health?: Partial<Record<Service, ServiceHealth>>;
  /** Extra SKUs the smoke creates in its exec function (so that teardown knows them). */
  smokeSkus?: { extra: string };
}

export interface SetupNeeds {
  /** Places orders: customer and admin tokens, own SKUs, analytics baseline. */
  checkout?: boolean;
  browse?: boolean;
  hot?: boolean;
  smoke?: boolean;
  /** Read each service's /metrics now (soak). */
  health?: boolean;
  /** How many own SKUs checkout gets (default K6_SKU_COUNT, 20). */
  skuCount?: number;
  /** How long the run lasts (tokens must outlive it). */
  expectedDurationMs?: number;
}

const HOUR = 3_600_000;

/** The stock adjustment the smoke makes to its first SKU. */
export const SMOKE_ADJUSTMENT = 2;

/**
 * The analytics range a run compares: from the UTC day it began, 30 days on (the same at setup and teardown,
 * which compare differences). Day buckets are keyed by the day's start, so a range starting later in the day
 * would leave out the day the run is in.
 */
export const analyticsRange = (since: string): TimeRange => {
  const from = new Date(Math.floor(Date.parse(since) / (24 * HOUR)) * 24 * HOUR).toISOString();
  return { from, to: new Date(Date.parse(from) + 30 * 24 * HOUR).toISOString(), bucket: 'day' };
};

/** Waits until analytics' projections are live with no lag (bounded); false when they are not by the deadline. */
export function waitForAnalytics(s: Session, deadlineMs: number): boolean {
  for (;;) {
    const r = projections(s);
    const items = r.body?.items ?? [];
    if (r.ok && items.every((p) => p.lag === 0 && p.state === 'live')) return true;
    if (Date.now() >= deadlineMs) return false;
    sleep(1);
  }
}

export function analyticsTotals(s: Session, range: TimeRange): { funnel: FunnelTotals; revenue: RevenueTotals } | undefined {
  const f = funnel(s, range);
  const r = revenue(s, range);
  if (!f.ok || !f.body || !r.ok || !r.body) return undefined;
  return { funnel: sumFunnel(f.body.points), revenue: sumRevenue(r.body.points) };
}

export function readHealth(s: Session): Partial<Record<Service, ServiceHealth>> {
  const out: Partial<Record<Service, ServiceHealth>> = {};
  for (const svc of SERVICES) {
    const r = metricsText(s, svc);
    if (r?.ok) out[svc] = serviceHealth(parsePrometheusText(r.text));
  }
  return out;
}

/** Creates a product and receives `stock` units of it; returns its levels after. Fails the setup on any refusal. */
export function createStockedProduct(s: Session, sku: string, stock: number, n: number): StockLevels {
  const added = addProduct(s, {
    sku,
    name: `k6 load item ${sku}`,
    description: 'Created by an infra/k6 scenario for its own run.',
    category: 'k6-load',
    price: { amount: 500 + ((n * 37) % 2_000), currency: 'EUR' },
  });
  if (!added.ok) fail(`setup: adding product ${sku}: ${describe(added)}`);
  if (stock > 0) {
    const received = receiveStock(s, sku, stock, `k6-stock-${sku}`);
    if (!received.ok) fail(`setup: receiving ${stock} of ${sku}: ${describe(received)}`);
  }
  const levels = stockLevels(s, sku, 'admin');
  if (!levels.ok || !levels.body) fail(`setup: reading the stock of ${sku}: ${describe(levels)}`);
  return levels.body;
}

/** The setup shared by every scenario; fails fast, with the reason, when the deployment or the tokens are not usable. */
export function prepareRun(scenario: string, needs: SetupNeeds): RunData {
  const ordersPlaced = !!(needs.checkout || needs.hot || needs.smoke);
  let tokens: ReturnType<typeof requireTokens>;
  try {
    tokens = requireTokens(
      { customer: ordersPlaced, admin: ordersPlaced || !!needs.health },
      { validForMs: (needs.expectedDurationMs ?? 0) + 15 * 60_000 },
    );
  } catch (err) {
    return fail((err as Error).message);
  }
  const s = session();
  const runId = newRunId();

  // Reachability: every service's OpenAPI document (public, routed by the gateway too).
  const unreachable: string[] = [];
  for (const svc of SERVICES) {
    const r = openapi(s, svc);
    if (!r.ok) unreachable.push(`${svc} (${r.status === 0 ? 'no answer' : r.status} from ${r.url})`);
  }
  if (unreachable.length > 0) {
    fail(
      `setup: not reachable with K6_TARGET=${s.targets.target}: ${unreachable.join(', ')}. ` +
        'Is the deployment up? Set GATEWAY_URL or CATALOG_URL etc. when it listens elsewhere (npm start may pick other ports: see .data/stack.json).',
    );
  }

  // `since`: the order service's clock, and both tokens tried on a real route.
  let since: string | undefined;
  if (ordersPlaced) {
    const mine = listOrders(s, { limit: 1 }, { token: s.customer, kind: 'admin' });
    if (!mine.ok) fail(`setup: CUSTOMER_TOKEN refused by the order service (${describe(mine)}): is it signed with this deployment's AUTH_JWT_SECRET?`);
    const date = header(mine.headers, 'Date');
    if (date && !Number.isNaN(Date.parse(date))) since = new Date(Date.parse(date)).toISOString();
  }
  if (ordersPlaced || needs.health) {
    const sagas = listSagas(s, { limit: 1 });
    if (!sagas.ok) fail(`setup: ADMIN_TOKEN refused by the coordinator (${describe(sagas)}): is it an admin token signed with this deployment's AUTH_JWT_SECRET?`);
  }
  if (!since) {
    const probe = listProducts(s, { limit: 1 }, 'catalog.list', 'admin');
    const date = header(probe.headers, 'Date');
    since = new Date(date && !Number.isNaN(Date.parse(date)) ? Date.parse(date) : Date.now()).toISOString();
  }

  const data: RunData = {
    scenario,
    runId,
    since,
    startedAtMs: 0,
    target: s.targets.target,
    ...(tokens.customer ? { customerSub: tokens.customer.sub } : {}),
    skus: [],
    stockBefore: {},
    adjusted: {},
  };

  if (needs.browse) {
    const page = listProducts(s, { limit: 100 }, 'catalog.list', 'admin');
    const items = (page.body?.items ?? []).filter((p) => p.status === 'active');
    if (!page.ok || items.length === 0) {
      fail(`setup: the catalog has no products for sale (${describe(page)}): load the demo data (npm start does on a first start; compose and k3s run the demo-data job)`);
    }
    const categories: string[] = [];
    const words: string[] = [];
    for (const p of items) {
      if (categories.indexOf(p.category) < 0) categories.push(p.category);
      const w = p.name.split(/\s+/)[0];
      if (w && w.length >= 2 && words.indexOf(w) < 0) words.push(w);
    }
    data.catalog = { skus: items.map((p) => p.sku), categories, words: words.length ? words : ['item'] };
  }

  if (needs.checkout) {
    const count = Math.max(1, Math.min(100, needs.skuCount ?? numberEnv('K6_SKU_COUNT', 20)));
    const stock = numberEnv('K6_STOCK_PER_SKU', 100_000);
    for (let i = 1; i <= count; i++) {
      const sku = `K6-${runId}-${i < 10 ? '0' : ''}${i}`;
      data.stockBefore[sku] = createStockedProduct(s, sku, stock, i);
      data.skus.push(sku);
    }
  }

  if (needs.hot) {
    const initial = numberEnv('K6_HOT_STOCK', 100);
    const quantity = numberEnv('K6_HOT_QTY', 1);
    if (!(initial > 0 && quantity > 0 && initial % quantity === 0)) fail(`setup: K6_HOT_STOCK (${initial}) must be a positive multiple of K6_HOT_QTY (${quantity})`);
    const sku = `K6-${runId}-HOT`;
    const levels = createStockedProduct(s, sku, initial, 0);
    if (levels.received !== initial || levels.available !== initial) fail(`setup: ${sku} should have ${initial} available, has ${JSON.stringify(levels)}`);
    data.stockBefore[sku] = levels;
    data.hot = { sku, initialStock: levels.received, quantity };
  }

  if (ordersPlaced && flagEnv('K6_CHECK_ANALYTICS', true)) {
    const settleMs = durationEnv('K6_SETTLE_TIMEOUT', '60s').ms;
    if (!waitForAnalytics(s, Date.now() + settleMs)) warn(`setup: analytics' projections still lag after ${settleMs} ms; its totals are compared from here on anyway`);
    const range = analyticsRange(since);
    const totals = analyticsTotals(s, range);
    if (!totals) fail('setup: reading analytics\' funnel and revenue failed (see the failed checks); K6_CHECK_ANALYTICS=0 skips the analytics comparison');
    data.analytics = { range, ...totals };
  }

  if (needs.health) data.health = readHealth(s);
  if (needs.smoke) {
    data.smokeSkus = { extra: `K6-${runId}-X` };
    // The smoke adjusts its first SKU by SMOKE_ADJUSTMENT (a count found more): conservation must allow for it.
    const first = data.skus[0];
    if (first) data.adjusted[first] = SMOKE_ADJUSTMENT;
  }

  data.startedAtMs = Date.now();
  info(`run ${runId} (${scenario}, K6_TARGET=${data.target}) since ${since}${data.skus.length ? `, ${data.skus.length} own SKUs` : ''}${data.hot ? `, hot SKU ${data.hot.sku} with ${data.hot.initialStock}` : ''}`);
  return data;
}
