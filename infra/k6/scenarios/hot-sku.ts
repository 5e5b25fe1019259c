/**
 * hot-sku: setup creates one product and receives K6_HOT_STOCK (100) units
 * of it through the admin APIs; then K6_RATE (100) orders/s of K6_HOT_QTY
 * (1) unit each, all with an approving token, for K6_DURATION (20s): far
 * more demand than stock, all on one stock stream. The teardown asserts
 * through the APIs that exactly the stock was sold and never more: sold =
 * K6_HOT_STOCK, nothing reserved, received = available + reserved + sold,
 * exactly K6_HOT_STOCK / K6_HOT_QTY orders confirmed, every other order
 * rejected (with less demand than stock, as in a one-iteration run, exactly
 * the units ordered are sold) — plus every invariant of checkout.
 *
 *   k6 run infra/k6/scenarios/hot-sku.ts
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { orderHotSku as hotFlow } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import { CHECKOUT_ENDPOINTS, INVARIANT_THRESHOLDS, SHARED_THRESHOLDS, SUMMARY_TREND_STATS, constantArrival, merge, trackEndpoints } from '../lib/thresholds.ts';

const rate = numberEnv('K6_RATE', 100);
const duration = durationEnv('K6_DURATION', '20s');

export const options: Options = {
  scenarios: {
    hot: constantArrival('orderHotSku', { rate, duration: duration.text, preAllocatedVUs: Math.max(10, rate), maxVUs: Math.max(100, rate * 10) }),
  },
  // Most orders are rejected here (no stock left), so no orders_confirmed threshold; the teardown decides.
  thresholds: merge(SHARED_THRESHOLDS, { order_terminal_ms: ['p(99)<1000'] }, INVARIANT_THRESHOLDS, trackEndpoints(CHECKOUT_ENDPOINTS)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '10m',
};

export function setup(): RunData {
  return prepareRun('hot-sku', { hot: true, expectedDurationMs: duration.ms });
}

export function orderHotSku(data: RunData): void {
  hotFlow(data);
}

export function teardown(data: RunData): void {
  verifyOrFail(data, { hot: true });
}

export const handleSummary = makeHandleSummary('hot-sku');
