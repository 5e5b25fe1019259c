/**
 * checkout: orders at a constant arrival rate on the run's own SKUs, with a
 * realistic mix of sandbox payment tokens (K6_PAYMENTS, default
 * approve:80,ok:5,decline:10,unknown:5,no-answer:0), each with its own
 * Idempotency-Key (one in K6_REPLAY_EVERY, 50, sent twice: the replay must
 * return the same order); the Location is followed until the order is
 * terminal (order_terminal_ms, orders_confirmed). The teardown checks the
 * invariants (lib/teardown.ts) and fails the run on any violation.
 *
 *   k6 run infra/k6/scenarios/checkout.ts           K6_RATE orders/s (20), K6_DURATION (2m)
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { checkout as checkoutFlow } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import {
  CHECKOUT_ENDPOINTS,
  CHECKOUT_THRESHOLDS,
  INVARIANT_THRESHOLDS,
  SHARED_THRESHOLDS,
  SUMMARY_TREND_STATS,
  constantArrival,
  merge,
  trackEndpoints,
} from '../lib/thresholds.ts';

const rate = numberEnv('K6_RATE', 20);
const duration = durationEnv('K6_DURATION', '2m');

export const options: Options = {
  scenarios: {
    // An iteration lasts about as long as the saga (POST, then polls): VUs ≈ rate × seconds per order.
    checkout: constantArrival('checkout', { rate, duration: duration.text, preAllocatedVUs: Math.max(5, rate * 2), maxVUs: Math.max(50, rate * 20) }),
  },
  thresholds: merge(SHARED_THRESHOLDS, CHECKOUT_THRESHOLDS, INVARIANT_THRESHOLDS, trackEndpoints(CHECKOUT_ENDPOINTS)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '10m',
};

export function setup(): RunData {
  return prepareRun('checkout', { checkout: true, expectedDurationMs: duration.ms });
}

export function checkout(data: RunData): void {
  checkoutFlow(data);
}

export function teardown(data: RunData): void {
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('checkout');
