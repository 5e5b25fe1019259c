/**
 * spike: a quiet baseline (K6_RATE, 10 orders/s, with K6_BROWSE_FACTOR, 9,
 * times as many visitors), a jump to K6_PEAK_RATE (100) within 10 s held for
 * K6_SPIKE (1m), back to the baseline within 10 s, then K6_RECOVERY (2m) to
 * see the backlog drain. The teardown checks every invariant.
 *
 *   k6 run infra/k6/scenarios/spike.ts
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { browse as browseFlow, checkout as checkoutFlow } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import type { Stage } from '../lib/thresholds.ts';
import {
  BROWSE_ENDPOINTS,
  CHECKOUT_ENDPOINTS,
  CHECKOUT_THRESHOLDS,
  INVARIANT_THRESHOLDS,
  SHARED_THRESHOLDS,
  SUMMARY_TREND_STATS,
  merge,
  rampingArrival,
  trackEndpoints,
} from '../lib/thresholds.ts';

const base = numberEnv('K6_RATE', 10);
const peak = numberEnv('K6_PEAK_RATE', 100);
const factor = numberEnv('K6_BROWSE_FACTOR', 9);
const warm = durationEnv('K6_WARMUP', '1m');
const spike = durationEnv('K6_SPIKE', '1m');
const recovery = durationEnv('K6_RECOVERY', '2m');

const profile = (k: number): Stage[] => [
  { duration: warm.text, target: Math.round(base * k) },
  { duration: '10s', target: Math.round(peak * k) },
  { duration: spike.text, target: Math.round(peak * k) },
  { duration: '10s', target: Math.round(base * k) },
  { duration: recovery.text, target: Math.round(base * k) },
];
const totalMs = warm.ms + spike.ms + recovery.ms + 20_000;

export const options: Options = {
  scenarios: {
    checkout: rampingArrival('checkout', { startRate: base, stages: profile(1), preAllocatedVUs: Math.max(10, base * 2), maxVUs: Math.max(100, peak * 10) }),
    browse: rampingArrival('browse', { startRate: Math.round(base * factor), stages: profile(factor), preAllocatedVUs: Math.max(10, Math.ceil((base * factor) / 5)), maxVUs: Math.max(100, peak * factor) }),
  },
  thresholds: merge(SHARED_THRESHOLDS, CHECKOUT_THRESHOLDS, INVARIANT_THRESHOLDS, trackEndpoints(BROWSE_ENDPOINTS.concat(CHECKOUT_ENDPOINTS))),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '10m',
};

export function setup(): RunData {
  return prepareRun('spike', { browse: true, checkout: true, expectedDurationMs: totalMs });
}

export function checkout(data: RunData): void {
  checkoutFlow(data);
}

export function browse(data: RunData): void {
  browseFlow(data);
}

export function teardown(data: RunData): void {
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('spike');
