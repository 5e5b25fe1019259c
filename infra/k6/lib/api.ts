/**
 * One function per HTTP call the scenarios make, on the services' real
 * routes (catalog-service/src/products/api.ts, inventory-service/src/stock/api.ts,
 * order-service/src/orders/api.ts, coordinator-service/src/sagas/api.ts,
 * analytics-service/src/read-models/api.ts and src/alerts/api.ts, the
 * platform's /healthz, /readyz, /metrics and /v1/openapi.json).
 *
 * Every request is tagged `name` (the endpoint, so metrics group by it;
 * setup's and teardown's reads of a customer endpoint get a `.admin` suffix)
 * and `kind`:
 *   read   a customer's read (catalog, availability): the read p99 threshold
 *   write  a customer's or an admin's write
 *   poll   following an order's Location until it is terminal
 *   admin  an operator's read (setup, teardown, smoke)
 *   ops    /healthz, /readyz, /metrics, /v1/openapi.json, the dashboard page
 * and checked against the statuses it may answer; those statuses are also
 * its `responseCallback`, so an expected 409 does not count in http_req_failed.
 */
import { check, sleep } from 'k6';
import http from 'k6/http';
import type { Service, Targets } from './config.ts';
import { env, numberEnv, resolveTargets } from './config.ts';
import type { OrderSnapshot, SagaSnapshot, StockLevels } from './invariants.ts';
import { isTerminalOrder } from './invariants.ts';

export type Kind = 'read' | 'write' | 'poll' | 'admin' | 'ops';

export interface Session {
  targets: Targets;
  customer?: string;
  admin?: string;
}

let cached: Session | undefined;

/** The targets and tokens of this VU, from the environment (read once per VU). */
export function session(): Session {
  if (!cached) {
    const e = env();
    const customer = (e.CUSTOMER_TOKEN ?? '').trim();
    const admin = (e.ADMIN_TOKEN ?? '').trim();
    cached = { targets: resolveTargets(e), ...(customer ? { customer } : {}), ...(admin ? { admin } : {}) };
  }
  return cached;
}

export interface Reply<T> {
  status: number;
  /** The status is one of the expected ones. */
  ok: boolean;
  body: T | undefined;
  text: string;
  headers: Record<string, string>;
  durationMs: number;
  url: string;
}

export interface CallSpec {
  service: Service;
  method: string;
  /** `/v1/...`, or `/healthz` etc. with `ops`. */
  path: string;
  name: string;
  kind: Kind;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Statuses that are a success for this call (default 200). */
  expect?: number[];
  /** Call the service's own address (/healthz, /readyz, /metrics). */
  ops?: boolean;
  /** A full URL instead of service + path (a Location). */
  url?: string;
  /** Record no check (a poll whose caller checks the outcome). */
  quiet?: boolean;
}

const callbacks: Record<string, ReturnType<typeof http.expectedStatuses>> = {};
const callbackFor = (statuses: number[]) => {
  const key = statuses.join(',');
  return callbacks[key] || (callbacks[key] = http.expectedStatuses(...statuses));
};
// The status sets the calls use, made in the init context.
for (const set of [[200], [201], [202], [204], [409], [200, 404]]) callbackFor(set);

const timeout = () => `${numberEnv('K6_HTTP_TIMEOUT_S', 10)}s`;

export function queryString(query: Record<string, string | number | boolean | undefined> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const k of Object.keys(query)) {
    const v = query[k];
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A response header, whatever its case. */
export function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === wanted) return headers[k];
  return undefined;
}

export function baseUrl(s: Session, service: Service, ops = false): string | undefined {
  return ops ? s.targets.ops[service] : s.targets.api[service];
}

/** Makes one request (http.request), checks its status, parses a JSON body. */
export function call<T>(s: Session, spec: CallSpec): Reply<T> {
  const expect = spec.expect ?? [200];
  const base = baseUrl(s, spec.service, spec.ops);
  const url = spec.url ?? `${base ?? ''}${spec.path}${queryString(spec.query)}`;
  const headers: Record<string, string> = { Accept: 'application/json', ...(spec.headers ?? {}) };
  if (spec.token) headers.Authorization = `Bearer ${spec.token}`;
  let body: string | null = null;
  if (spec.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
  }
  const started = Date.now();
  const res = http.request(spec.method, url, body, {
    headers,
    tags: { name: spec.name, kind: spec.kind },
    timeout: timeout(),
    responseCallback: callbackFor(expect),
  });
  const durationMs = Date.now() - started;
  const text = typeof res.body === 'string' ? res.body : '';
  let parsed: T | undefined;
  if (text) {
    try {
      parsed = JSON.parse(text) as T;
    } catch {
      parsed = undefined;
    }
  }
  const ok = expect.indexOf(res.status) >= 0;
  if (!spec.quiet) {
    check(res, { [`${spec.name} ${expect.join('|')}`]: () => ok }, { name: spec.name });
  }
  return { status: res.status, ok, body: parsed, text, headers: res.headers || {}, durationMs, url };
}

/** The status and the start of the body, for messages. */
export const describe = (r: Reply<unknown>): string => `${r.status} from ${r.url}${r.text ? `: ${r.text.slice(0, 300)}` : ''}`;

// --- catalog ------------------------------------------------------------

export interface Product {
  sku: string;
  name: string;
  description: string;
  category: string;
  price: { amount: number; currency: string };
  status: 'active' | 'discontinued';
  addedAt: string;
}
export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

export type ProductQuery = { limit?: number; cursor?: string; category?: string; q?: string };

/** GET /v1/products (public): list, `q` search by name, `category` filter, `cursor` next page. */
export function listProducts(s: Session, query: ProductQuery = {}, name = 'catalog.list', kind: Kind = 'read'): Reply<ProductPage> {
  return call<ProductPage>(s, { service: 'catalog', method: 'GET', path: '/v1/products', query, name: kind === 'admin' ? `${name}.admin` : name, kind });
}

export const searchProducts = (s: Session, q: string, limit = 20) => listProducts(s, { q, limit }, 'catalog.search');
export const filterProducts = (s: Session, category: string, limit = 20) => listProducts(s, { category, limit }, 'catalog.filter');

/** GET /v1/products/{sku} (public, from the stream). */
export function getProduct(s: Session, sku: string, kind: Kind = 'read'): Reply<Product> {
  return call<Product>(s, { service: 'catalog', method: 'GET', path: `/v1/products/${sku}`, name: 'catalog.get', kind });
}

/** POST /v1/products (admin) → 201. */
export function addProduct(
  s: Session,
  product: { sku: string; name: string; description: string; category: string; price: { amount: number; currency: string } },
): Reply<Product> {
  return call<Product>(s, { service: 'catalog', method: 'POST', path: '/v1/products', body: product, token: s.admin, name: 'catalog.add', kind: 'write', expect: [201] });
}

/** PATCH /v1/products/{sku} (admin). */
export function changeProductDetails(s: Session, sku: string, details: { name?: string; description?: string; category?: string }): Reply<Product> {
  return call<Product>(s, { service: 'catalog', method: 'PATCH', path: `/v1/products/${sku}`, body: details, token: s.admin, name: 'catalog.change-details', kind: 'write' });
}

/** PUT /v1/products/{sku}/price (admin). */
export function setProductPrice(s: Session, sku: string, price: { amount: number; currency: string }): Reply<Product> {
  return call<Product>(s, { service: 'catalog', method: 'PUT', path: `/v1/products/${sku}/price`, body: price, token: s.admin, name: 'catalog.set-price', kind: 'write' });
}

/** POST /v1/products/{sku}/discontinue (admin). */
export function discontinueProduct(s: Session, sku: string): Reply<Product> {
  return call<Product>(s, { service: 'catalog', method: 'POST', path: `/v1/products/${sku}/discontinue`, token: s.admin, name: 'catalog.discontinue', kind: 'write' });
}

// --- inventory ----------------------------------------------------------

export interface Availability {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

/** GET /v1/stock/{sku} (public): the SKU's StockLevels read from its stream (always current). */
export function stockLevels(s: Session, sku: string, kind: Kind = 'read'): Reply<StockLevels> {
  return call<StockLevels>(s, { service: 'inventory', method: 'GET', path: `/v1/stock/${sku}`, name: kind === 'admin' ? 'inventory.stock.admin' : 'inventory.stock', kind });
}

/** GET /v1/stock?skus=a,b (public): availability of up to 100 SKUs from the read model. */
export function availability(s: Session, skus: readonly string[], kind: Kind = 'read'): Reply<{ items: Availability[] }> {
  return call<{ items: Availability[] }>(s, { service: 'inventory', method: 'GET', path: '/v1/stock', query: { skus: skus.join(',') }, name: 'inventory.availability', kind });
}

/** POST /v1/stock/{sku}/receipts (admin). `receiptKey` is the Idempotency-Key: the same key on the same SKU counts the stock once. */
export function receiveStock(s: Session, sku: string, quantity: number, receiptKey: string): Reply<StockLevels> {
  return call<StockLevels>(s, { service: 'inventory', method: 'POST', path: `/v1/stock/${sku}/receipts`, body: { quantity }, headers: { 'Idempotency-Key': receiptKey }, token: s.admin, name: 'inventory.receive', kind: 'write' });
}

/** POST /v1/stock/{sku}/adjustments (admin). */
export function adjustStock(s: Session, sku: string, delta: number, reason: string): Reply<StockLevels> {
  return call<StockLevels>(s, { service: 'inventory', method: 'POST', path: `/v1/stock/${sku}/adjustments`, body: { delta, reason }, token: s.admin, name: 'inventory.adjust', kind: 'write' });
}

// --- orders -------------------------------------------------------------

export type Order = OrderSnapshot & { paymentStatus: string; updatedAt: string; pricedLines: unknown[] | null };
export interface OrderPage {
  items: Order[];
  nextCursor: string | null;
}

/**
 * POST /v1/orders (customer) with an Idempotency-Key → 202, the order view and
 * `Location: /v1/orders/{id}`. `body` is sent as given, so a replay can send
 * the very same bytes.
 */
export function placeOrder(s: Session, body: string, idempotencyKey: string, name = 'order.place'): Reply<Order> {
  return call<Order>(s, {
    service: 'order',
    method: 'POST',
    path: '/v1/orders',
    body,
    token: s.customer,
    headers: { 'Idempotency-Key': idempotencyKey },
    name,
    kind: 'write',
    expect: [202],
  });
}

export const orderBody = (lines: { sku: string; quantity: number }[], paymentToken: string, channel?: 'web' | 'mobile' | 'api') =>
  JSON.stringify({ lines, paymentToken, ...(channel ? { channel } : {}) });

/** Resolves a Location (`/v1/orders/{id}`, relative to the order service) against the order service's base URL (which carries the gateway prefix). */
export function resolveLocation(s: Session, location: string): string {
  if (/^https?:\/\//.test(location)) return location;
  return `${s.targets.api.order}${location.charAt(0) === '/' ? '' : '/'}${location}`;
}

/** GET /v1/orders/{id} (the customer's own order, or any with the admin token). */
export function getOrder(s: Session, orderId: string, options: { token?: string; kind?: Kind; name?: string; quiet?: boolean } = {}): Reply<Order> {
  return call<Order>(s, {
    service: 'order',
    method: 'GET',
    path: `/v1/orders/${orderId}`,
    token: options.token ?? s.customer,
    name: options.name ?? (options.kind === 'admin' ? 'order.get.admin' : 'order.get'),
    kind: options.kind ?? 'read',
    ...(options.quiet ? { quiet: true } : {}),
  });
}

export interface FollowResult {
  order?: Order;
  terminal: boolean;
  polls: number;
  elapsedMs: number;
  lastStatus?: number;
}

/**
 * Follows a Location until the order is terminal (confirmed, rejected,
 * cancelled) or `timeoutMs` passes, polling every K6_POLL_MS (200 ms) with
 * `sleep`. Polls are tagged name=order.follow, kind=poll.
 */
export function followUntilTerminal(s: Session, location: string, timeoutMs: number, options: { token?: string; statuses?: readonly string[] } = {}): FollowResult {
  const url = resolveLocation(s, location);
  const pollS = numberEnv('K6_POLL_MS', 200) / 1000;
  const started = Date.now();
  let polls = 0;
  let last: Reply<Order> | undefined;
  const done = (o: Order | undefined) => !!o && (options.statuses ? options.statuses.indexOf(o.status) >= 0 : isTerminalOrder(o.status));
  for (;;) {
    polls++;
    last = call<Order>(s, { service: 'order', method: 'GET', path: '', url, token: options.token ?? s.customer, name: 'order.follow', kind: 'poll', quiet: true });
    if (last.status !== 200) check(last, { 'order.follow 200': () => false }, { name: 'order.follow' });
    if (last.status === 200 && done(last.body)) return { order: last.body, terminal: true, polls, elapsedMs: Date.now() - started, lastStatus: 200 };
    if (Date.now() - started >= timeoutMs) break;
    sleep(pollS);
  }
  return { ...(last?.body ? { order: last.body } : {}), terminal: false, polls, elapsedMs: Date.now() - started, lastStatus: last?.status };
}

/** GET /v1/orders (newest first; a customer lists their own, an admin all or `customerId`'s). */
export function listOrders(
  s: Session,
  query: { status?: string; customerId?: string; limit?: number; cursor?: string } = {},
  options: { token?: string; kind?: Kind } = {},
): Reply<OrderPage> {
  return call<OrderPage>(s, { service: 'order', method: 'GET', path: '/v1/orders', query, token: options.token ?? s.admin, name: 'order.list', kind: options.kind ?? 'admin' });
}

/** POST /v1/orders/{id}/cancel (owner or admin) → 202. */
export function cancelOrder(s: Session, orderId: string, reason: string, token?: string): Reply<Order> {
  return call<Order>(s, { service: 'order', method: 'POST', path: `/v1/orders/${orderId}/cancel`, body: { reason }, token: token ?? s.customer, name: 'order.cancel', kind: 'write', expect: [202] });
}

/**
 * Every order placed at or after `since` (newest first, paging the admin
 * list until an older order; `customerId` narrows it to one customer).
 */
export function ordersSince(s: Session, since: string, options: { customerId?: string; maxPages?: number } = {}): { orders: Order[]; complete: boolean } {
  const sinceMs = Date.parse(since);
  const maxPages = options.maxPages ?? numberEnv('K6_MAX_PAGES', 5000);
  const orders: Order[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const r = listOrders(s, { limit: 100, ...(options.customerId ? { customerId: options.customerId } : {}), ...(cursor ? { cursor } : {}) });
    if (!r.ok || !r.body) return { orders, complete: false };
    for (const o of r.body.items) {
      if (Date.parse(o.placedAt) < sinceMs) return { orders, complete: true };
      orders.push(o);
    }
    if (!r.body.nextCursor) return { orders, complete: true };
    cursor = r.body.nextCursor;
  }
  return { orders, complete: false };
}

// --- coordinator --------------------------------------------------------

export type SagaSummary = SagaSnapshot & { step: string | null; reason: string | null; startedAt: string; updatedAt: string; endedAt: string | null };
export interface SagaPage {
  items: SagaSummary[];
  nextCursor: string | null;
}

/** GET /v1/sagas (admin), newest first. */
export function listSagas(s: Session, query: { status?: string; type?: string; olderThan?: number; limit?: number; cursor?: string } = {}): Reply<SagaPage> {
  return call<SagaPage>(s, { service: 'coordinator', method: 'GET', path: '/v1/sagas', query, token: s.admin, name: 'coordinator.sagas', kind: 'admin' });
}

/** GET /v1/sagas/stuck (admin): failed, or not ended SAGA_STUCK_AFTER_MS after they started. */
export function stuckSagas(s: Session, query: { limit?: number; cursor?: string } = {}): Reply<SagaPage> {
  return call<SagaPage>(s, { service: 'coordinator', method: 'GET', path: '/v1/sagas/stuck', query, token: s.admin, name: 'coordinator.sagas-stuck', kind: 'admin' });
}

/** GET /v1/sagas/{id} (admin), `place-order-<orderId>` or `cancel-order-<orderId>`, from its stream. */
export function getSaga(s: Session, id: string, expect: number[] = [200]): Reply<SagaSnapshot & { currentStep: string | null; history: unknown[] }> {
  return call(s, { service: 'coordinator', method: 'GET', path: `/v1/sagas/${id}`, token: s.admin, name: 'coordinator.saga', kind: 'admin', expect });
}

/** POST /v1/sagas/{id}/retry (admin): 202, or 409 once the saga has ended. */
export function retrySaga(s: Session, id: string, expect: number[] = [202]): Reply<unknown> {
  return call(s, { service: 'coordinator', method: 'POST', path: `/v1/sagas/${id}/retry`, token: s.admin, name: 'coordinator.saga-retry', kind: 'write', expect });
}

/** POST /v1/sagas/{id}/abort (admin): 202, or 409 past the pivot or once ended. */
export function abortSaga(s: Session, id: string, reason: string, expect: number[] = [202]): Reply<unknown> {
  return call(s, { service: 'coordinator', method: 'POST', path: `/v1/sagas/${id}/abort`, body: { reason }, token: s.admin, name: 'coordinator.saga-abort', kind: 'write', expect });
}

/** Every saga started at or after `since` (GET /v1/sagas, paged). */
export function sagasSince(s: Session, since: string, options: { type?: string; maxPages?: number } = {}): { sagas: SagaSummary[]; complete: boolean } {
  const sinceMs = Date.parse(since);
  const maxPages = options.maxPages ?? numberEnv('K6_MAX_PAGES', 5000);
  const sagas: SagaSummary[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const r = listSagas(s, { limit: 100, ...(options.type ? { type: options.type } : {}), ...(cursor ? { cursor } : {}) });
    if (!r.ok || !r.body) return { sagas, complete: false };
    for (const saga of r.body.items) {
      if (Date.parse(saga.startedAt) < sinceMs) return { sagas, complete: true };
      sagas.push(saga);
    }
    if (!r.body.nextCursor) return { sagas, complete: true };
    cursor = r.body.nextCursor;
  }
  return { sagas, complete: false };
}

/** Every stuck saga (GET /v1/sagas/stuck, paged, at most `maxPages`). */
export function allStuckSagas(s: Session, maxPages = 20): SagaSummary[] {
  const out: SagaSummary[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const r = stuckSagas(s, { limit: 100, ...(cursor ? { cursor } : {}) });
    if (!r.ok || !r.body) break;
    out.push(...r.body.items);
    if (!r.body.nextCursor) break;
    cursor = r.body.nextCursor;
  }
  return out;
}

// --- analytics ----------------------------------------------------------

export interface TimeRange {
  from: string;
  to: string;
  bucket?: 'minute' | 'hour' | 'day';
}

const analyticsGet = <T>(s: Session, path: string, name: string, query: Record<string, string | number | undefined> = {}) =>
  call<T>(s, { service: 'analytics', method: 'GET', path, query, token: s.admin, name, kind: 'admin' });

export interface FunnelPoint {
  at: string;
  placed: number;
  confirmed: number;
  rejected: number;
  cancelled: number;
  rejectedByReason: Record<string, number>;
}
export interface RevenuePoint {
  at: string;
  currency: string;
  confirmedAmount: number;
  confirmedOrders: number;
  cancelledAmount: number;
  cancelledOrders: number;
  netAmount: number;
}

/** GET /v1/funnel (admin): orders placed, confirmed, rejected, cancelled per bucket. */
export const funnel = (s: Session, r: TimeRange) => analyticsGet<{ points: FunnelPoint[] }>(s, '/v1/funnel', 'analytics.funnel', { from: r.from, to: r.to, bucket: r.bucket ?? 'day' });
/** GET /v1/revenue (admin): confirmed and cancelled totals per bucket and currency. */
export const revenue = (s: Session, r: TimeRange) => analyticsGet<{ points: RevenuePoint[] }>(s, '/v1/revenue', 'analytics.revenue', { from: r.from, to: r.to, bucket: r.bucket ?? 'day' });
/** GET /v1/products/top (admin). */
export const topProducts = (s: Session, limit = 10, by: 'units' | 'revenue' = 'units') =>
  analyticsGet<{ items: { sku: string; units: number; revenue: number }[] }>(s, '/v1/products/top', 'analytics.top-products', { limit, by });
/** GET /v1/stock?sku=a,b (admin): analytics' stock levels per SKU. */
export const analyticsStock = (s: Session, skus: readonly string[]) =>
  analyticsGet<{ items: (StockLevels & { stockOuts: number })[] }>(s, '/v1/stock', 'analytics.stock', { sku: skus.join(',') });
/** GET /v1/stock/outs (admin). */
export const stockOuts = (s: Session, sku?: string) => analyticsGet<{ items: unknown[] }>(s, '/v1/stock/outs', 'analytics.stock-outs', { sku, limit: 50 });
/** GET /v1/orders/live (admin): the last N orders with their status. */
export const liveOrders = (s: Session, limit = 50) => analyticsGet<{ items: { orderId: string; status: string }[] }>(s, '/v1/orders/live', 'analytics.orders-live', { limit });
/** GET /v1/sagas/latency (admin). */
export const sagaLatency = (s: Session, r: TimeRange) =>
  analyticsGet<{ points: unknown[] }>(s, '/v1/sagas/latency', 'analytics.saga-latency', { from: r.from, to: r.to, bucket: r.bucket ?? 'day' });
/** GET /v1/projections (admin): per projection, live or rebuilding, and its lag in events. */
export const projections = (s: Session) =>
  analyticsGet<{ items: { name: string; state: string; position: number; head: number; lag: number }[] }>(s, '/v1/projections', 'analytics.projections');
/** GET /v1/alerts (admin). */
export const alerts = (s: Session) => analyticsGet<{ items: unknown[] }>(s, '/v1/alerts', 'analytics.alerts', { limit: 50 });
/** GET /v1/alerts/history (admin). */
export const alertHistory = (s: Session) => analyticsGet<{ items: unknown[] }>(s, '/v1/alerts/history', 'analytics.alerts-history', { limit: 100 });
/** GET /v1/alerts/rules (admin). */
export const alertRules = (s: Session) => analyticsGet<{ items: { id: string; name: string }[] }>(s, '/v1/alerts/rules', 'analytics.alert-rules');

export interface AlertRule {
  id: string;
  version: number;
  name: string;
}
export type AlertRuleSettings = {
  name: string;
  metric: 'rejection_rate' | 'orders_placed' | 'saga_p95_ms' | 'compensation_rate' | 'stock_available';
  comparator: 'above' | 'below';
  threshold: number;
  windowMinutes?: number;
  minSamples?: number;
  sku?: string;
  severity?: 'info' | 'warning' | 'critical';
  enabled?: boolean;
};

/** POST /v1/alerts/rules (admin) → 201. */
export const createAlertRule = (s: Session, rule: AlertRuleSettings) =>
  call<AlertRule>(s, { service: 'analytics', method: 'POST', path: '/v1/alerts/rules', body: rule, token: s.admin, name: 'analytics.alert-rule-create', kind: 'write', expect: [201] });
/** GET /v1/alerts/rules/{id} (admin). */
export const getAlertRule = (s: Session, id: string) =>
  call<AlertRule>(s, { service: 'analytics', method: 'GET', path: `/v1/alerts/rules/${id}`, token: s.admin, name: 'analytics.alert-rule', kind: 'admin' });
/** PUT /v1/alerts/rules/{id} (admin) with If-Match: the rule's version. */
export const replaceAlertRule = (s: Session, id: string, version: number, rule: AlertRuleSettings) =>
  call<AlertRule>(s, {
    service: 'analytics',
    method: 'PUT',
    path: `/v1/alerts/rules/${id}`,
    body: rule,
    headers: { 'If-Match': `"${version}"` },
    token: s.admin,
    name: 'analytics.alert-rule-replace',
    kind: 'write',
  });
/** DELETE /v1/alerts/rules/{id} (admin) → 204. */
export const deleteAlertRule = (s: Session, id: string) =>
  call<unknown>(s, { service: 'analytics', method: 'DELETE', path: `/v1/alerts/rules/${id}`, token: s.admin, name: 'analytics.alert-rule-delete', kind: 'write', expect: [204] });
/** GET /dashboard (public page of the analytics service; /analytics/dashboard behind the gateway). */
export const dashboardPage = (s: Session) =>
  call<unknown>(s, { service: 'analytics', method: 'GET', path: '', url: `${s.targets.api.analytics}/dashboard`, headers: { Accept: 'text/html' }, name: 'analytics.dashboard', kind: 'ops' });

// --- every service ------------------------------------------------------

/** GET /v1/openapi.json (public, through the gateway too). */
export const openapi = (s: Session, service: Service) =>
  call<{ openapi: string; paths: Record<string, unknown> }>(s, { service, method: 'GET', path: '/v1/openapi.json', name: `${service}.openapi`, kind: 'ops' });
/** GET /healthz on the service's own address (undefined when it has none: not routed by the gateway). */
export const healthz = (s: Session, service: Service) =>
  s.targets.ops[service] ? call<unknown>(s, { service, method: 'GET', path: '/healthz', ops: true, name: `${service}.healthz`, kind: 'ops' }) : undefined;
export const readyz = (s: Session, service: Service) =>
  s.targets.ops[service] ? call<unknown>(s, { service, method: 'GET', path: '/readyz', ops: true, name: `${service}.readyz`, kind: 'ops' }) : undefined;
/** GET /metrics (Prometheus text) on the service's own address. */
export const metricsText = (s: Session, service: Service) =>
  s.targets.ops[service]
    ? call<unknown>(s, { service, method: 'GET', path: '/metrics', ops: true, headers: { Accept: 'text/plain' }, name: `${service}.metrics`, kind: 'ops' })
    : undefined;
