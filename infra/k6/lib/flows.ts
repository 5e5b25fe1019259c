/**
 * The exec functions the scenarios share: a browsing visitor, a checkout, an
 * order for the hot SKU. Each is one iteration and stands alone (setup data
 * in, nothing kept between iterations), so any scenario can run it once.
 */
import { check } from 'k6';
import exec from 'k6/execution';
import { durationEnv, env, numberEnv } from './config.ts';
import type { Order, Reply } from './api.ts';
import {
  availability,
  filterProducts,
  followUntilTerminal,
  getProduct,
  header,
  listProducts,
  orderBody,
  placeOrder,
  searchProducts,
  session,
  stockLevels,
} from './api.ts';
import { offeredRate, orderObservedTerminalMs, ordersAccepted, ordersConfirmed, orderTerminalMs } from './metrics.ts';
import type { RunData } from './setup.ts';
import { rateAt } from './thresholds.ts';

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/**
 * One visitor: the first page of the catalog (sometimes the next), a search
 * by name, a category, one product and its availability, and the
 * availability of the category's page. Results are checked, not just their
 * status: a search only returns names containing the text, a filter only the
 * category.
 */
export function browse(data: RunData): void {
  const s = session();
  const c = data.catalog;
  if (!c) throw new Error('browse needs the catalog sample of setup (prepareRun with browse: true)');
  const list = listProducts(s, { limit: 20 });
  check(list, { 'catalog.list returns products': (r) => (r.body?.items.length ?? 0) > 0 });
  const next = list.body?.nextCursor;
  if (next && Math.random() < 0.3) listProducts(s, { limit: 20, cursor: next }, 'catalog.next-page');

  const q = pick(c.words);
  const found = searchProducts(s, q);
  check(found, { 'catalog.search matches names only': (r) => !!r.body && r.body.items.every((p) => p.name.toLowerCase().indexOf(q.toLowerCase()) >= 0) });

  const category = pick(c.categories);
  const inCategory = filterProducts(s, category);
  check(inCategory, { 'catalog.filter returns its category only': (r) => !!r.body && r.body.items.every((p) => p.category === category) });

  const skus = (inCategory.body?.items ?? []).map((p) => p.sku);
  const sku = skus.length ? pick(skus) : pick(c.skus);
  const product = getProduct(s, sku);
  check(product, { 'catalog.get is the product asked for': (r) => r.body?.sku === sku });
  const levels = stockLevels(s, sku);
  check(levels, { 'inventory.stock available = onHand - reserved': (r) => !!r.body && r.body.available === r.body.onHand - r.body.reserved });
  if (skus.length) availability(s, skus.slice(0, 20));
}

// --- checkout -----------------------------------------------------------

export type PaymentKind = 'approve' | 'decline' | 'unknown' | 'no-answer';
export interface Payment {
  token: string;
  kind: PaymentKind;
}

/**
 * The sandbox provider's test tokens (order-service/src/payments/sandbox-payment-provider.ts,
 * order-service/README.md): `tok_approve` and any `tok_ok…` approve; `tok_decline`
 * declines; `tok_no_answer` never answers (PAYMENT_TIMEOUT, then the saga's
 * deadline); anything else is declined as an unknown card.
 */
export const DEFAULT_PAYMENT_MIX = 'approve:80,ok:5,decline:10,unknown:5,no-answer:0';

export function paymentMix(text: string, runId: string): { weight: number; payment: Payment }[] {
  const out: { weight: number; payment: Payment }[] = [];
  for (const part of text.split(',')) {
    const [name, w] = part.split(':').map((x) => x.trim());
    const weight = Number(w);
    if (!name || !Number.isFinite(weight) || weight < 0) throw new Error(`K6_PAYMENTS: "${part}" is not name:weight`);
    if (weight === 0) continue;
    const payment: Payment | undefined =
      name === 'approve'
        ? { token: 'tok_approve', kind: 'approve' }
        : name === 'ok'
          ? { token: `tok_ok_k6_${runId.toLowerCase()}`, kind: 'approve' }
          : name === 'decline'
            ? { token: 'tok_decline', kind: 'decline' }
            : name === 'unknown'
              ? { token: 'tok_k6_not_a_card', kind: 'unknown' }
              : name === 'no-answer'
                ? { token: 'tok_no_answer', kind: 'no-answer' }
                : undefined;
    if (!payment) throw new Error(`K6_PAYMENTS: unknown token kind "${name}" (approve, ok, decline, unknown, no-answer)`);
    out.push({ weight, payment });
  }
  if (out.length === 0) throw new Error('K6_PAYMENTS: no token with a weight above 0');
  return out;
}

function pickPayment(mix: { weight: number; payment: Payment }[]): Payment {
  const total = mix.reduce((n, m) => n + m.weight, 0);
  let r = Math.random() * total;
  for (const m of mix) {
    r -= m.weight;
    if (r < 0) return m.payment;
  }
  return mix[mix.length - 1]!.payment;
}

const CHANNELS = ['web', 'web', 'web', 'mobile', 'mobile', 'api'] as const;

/** POST → terminal from the order's own records (placedAt → the terminal status' `at`) plus the POST's round trip. */
export function terminalMs(order: Order, postMs: number): number | undefined {
  const end = order.statusHistory.filter((h) => h.status === order.status).pop();
  if (!end) return undefined;
  const ms = Date.parse(end.at) - Date.parse(order.placedAt);
  return Number.isFinite(ms) ? Math.max(0, ms) + postMs : undefined;
}

/** Places `lines` with `payment`, follows the Location until terminal, records the metrics. Returns the final order. */
export function placeAndFollow(
  data: RunData,
  lines: { sku: string; quantity: number }[],
  payment: Payment,
  options: { tags?: Record<string, string>; keySuffix?: string } = {},
): Order | undefined {
  const s = session();
  const tags = options.tags ?? {};
  const iteration = exec.scenario.iterationInTest;
  // Unique per run, scenario and iteration (iterationInTest counts across every VU of the scenario).
  const key = `k6-${data.runId}-${exec.scenario.name}-${iteration}${options.keySuffix ? `-${options.keySuffix}` : ''}`;
  const channel = pick(CHANNELS);
  const body = orderBody(lines, payment.token, channel);
  const sent = Date.now();
  const placed: Reply<Order> = placeOrder(s, body, key);
  if (!placed.ok || !placed.body) return undefined;
  const first = placed.body;
  ordersAccepted.add(1, { payment: payment.kind, ...tags });
  const location = header(placed.headers, 'Location');
  check(placed, {
    'order.place answers pending with a Location': (r) => r.body?.status === 'pending' && location === `/v1/orders/${first.orderId}`,
  });

  // Now and then, the same request again: the first response comes back, no second order.
  const every = numberEnv('K6_REPLAY_EVERY', 50);
  if (every > 0 && iteration % every === 0) {
    const replay = placeOrder(s, body, key, 'order.place-replay');
    check(replay, {
      'order.place replays the same order for the same Idempotency-Key': (r) => r.body?.orderId === first.orderId && header(r.headers, 'Idempotent-Replayed') === 'true',
    });
  }

  const timeoutMs = durationEnv('K6_TERMINAL_TIMEOUT', '30s').ms;
  const followed = followUntilTerminal(s, location ?? `/v1/orders/${first.orderId}`, timeoutMs);
  check(followed, { 'order terminal within K6_TERMINAL_TIMEOUT': (f) => f.terminal });
  const order = followed.order;
  if (!followed.terminal || !order) return order;
  orderObservedTerminalMs.add(Date.now() - sent, { payment: payment.kind, ...tags });
  const ms = terminalMs(order, placed.durationMs);
  if (ms !== undefined) orderTerminalMs.add(ms, { payment: payment.kind, ...tags });
  ordersConfirmed.add(order.status === 'confirmed', { payment: payment.kind, ...tags });
  return order;
}

/** A ramp checkout() reports the offered rate of (stress), set by the scenario at init. */
let RAMP: { startRate: number; stages: { durationMs: number; target: number }[] } | undefined;
export function reportOfferedRate(startRate: number, stages: { durationMs: number; target: number }[]): void {
  RAMP = { startRate, stages };
}

let mixCache: { text: string; runId: string; mix: { weight: number; payment: Payment }[] } | undefined;
function currentMix(runId: string): { weight: number; payment: Payment }[] {
  const text = (env().K6_PAYMENTS ?? '').trim() || DEFAULT_PAYMENT_MIX;
  if (!mixCache || mixCache.text !== text || mixCache.runId !== runId) mixCache = { text, runId, mix: paymentMix(text, runId) };
  return mixCache.mix;
}

/**
 * One checkout: 1–3 of the run's SKUs, 1–3 units each, a payment token from
 * K6_PAYMENTS (default DEFAULT_PAYMENT_MIX), an Idempotency-Key unique to the
 * iteration; then the Location is followed until the order is terminal.
 * An approving token must end confirmed, any other rejected.
 */
export function checkout(data: RunData): void {
  if (data.skus.length === 0) throw new Error('checkout needs the run\'s SKUs of setup (prepareRun with checkout: true)');
  if (data.startedAtMs && RAMP) offeredRate.add(rateAt(RAMP.startRate, RAMP.stages, Date.now() - data.startedAtMs));
  const payment = pickPayment(currentMix(data.runId));
  const n = Math.min(data.skus.length, 1 + Math.floor(Math.random() * 3));
  const pool = data.skus.slice();
  const lines: { sku: string; quantity: number }[] = [];
  for (let i = 0; i < n; i++) {
    const at = Math.floor(Math.random() * pool.length);
    const sku = pool.splice(at, 1)[0]!;
    lines.push({ sku, quantity: 1 + Math.floor(Math.random() * 3) });
  }
  const order = placeAndFollow(data, lines, payment);
  if (!order || order.status === 'pending') return;
  check(order, {
    'payment outcome as the sandbox token says': (o) => (payment.kind === 'approve' ? o.status === 'confirmed' : o.status === 'rejected'),
  });
}

/** One order of K6_HOT_QTY units of the hot SKU, approved payment: confirmed while stock lasts, then rejected. */
export function orderHotSku(data: RunData): void {
  const hot = data.hot;
  if (!hot) throw new Error('orderHotSku needs the hot SKU of setup (prepareRun with hot: true)');
  const order = placeAndFollow(data, [{ sku: hot.sku, quantity: hot.quantity }], { token: 'tok_approve', kind: 'approve' }, { tags: { sku: 'hot' } });
  if (!order || order.status === 'pending') return;
  check(order, { 'hot SKU order confirmed or rejected': (o) => o.status === 'confirmed' || o.status === 'rejected' });
}
