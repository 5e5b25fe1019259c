/**
 * mixed: browse and checkout side by side, as two constant-arrival-rate
 * scenarios running the same exec functions as browse.ts and checkout.ts:
 * 90 % of the arrivals browse, 10 % check out (K6_CHECKOUT_SHARE, 0.1).
 *
 *   k6 run infra/k6/scenarios/mixed.ts              K6_RATE arrivals/s in all (100), K6_DURATION (5m)
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { browse as browseFlow, checkout as checkoutFlow } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import {
  BROWSE_ENDPOINTS,
  CHECKOUT_ENDPOINTS,
  CHECKOUT_THRESHOLDS,
  INVARIANT_THRESHOLDS,
  SHARED_THRESHOLDS,
  SUMMARY_TREND_STATS,
  constantArrival,
  merge,
  trackEndpoints,
} from '../lib/thresholds.ts';

const total = numberEnv('K6_RATE', 100);
const share = numberEnv('K6_CHECKOUT_SHARE', 0.1);
const checkoutRate = Math.max(1, Math.round(total * share));
const browseRate = Math.max(1, total - checkoutRate);
const duration = durationEnv('K6_DURATION', '5m');

export const options: Options = {
  scenarios: {
    browse: constantArrival('browse', { rate: browseRate, duration: duration.text, preAllocatedVUs: Math.max(5, Math.ceil(browseRate / 5)), maxVUs: Math.max(50, browseRate * 4) }),
    checkout: constantArrival('checkout', { rate: checkoutRate, duration: duration.text, preAllocatedVUs: Math.max(5, checkoutRate * 2), maxVUs: Math.max(50, checkoutRate * 20) }),
  },
  thresholds: merge(SHARED_THRESHOLDS, CHECKOUT_THRESHOLDS, INVARIANT_THRESHOLDS, trackEndpoints(BROWSE_ENDPOINTS.concat(CHECKOUT_ENDPOINTS))),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '10m',
};

export function setup(): RunData {
  return prepareRun('mixed', { browse: true, checkout: true, expectedDurationMs: duration.ms });
}

export function browse(data: RunData): void {
  browseFlow(data);
}

export function checkout(data: RunData): void {
  checkoutFlow(data);
}

export function teardown(data: RunData): void {
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('mixed');
