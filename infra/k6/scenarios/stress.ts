/**
 * stress: checkout at a ramping arrival rate, a step up every K6_STEP (1m)
 * by K6_STEP_RATE (20) orders/s from K6_START_RATE (10) to K6_PEAK_RATE
 * (300), until a threshold breaks: every shared and checkout threshold is
 * abortOnFail (evaluated after 30 s), so the run stops at the first rate the
 * deployment cannot carry; `offered_rate` (gauge) says which. The teardown
 * still checks every invariant: a stack that breaks under load must break
 * slow, not wrong.
 *
 *   k6 run infra/k6/scenarios/stress.ts
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { checkout as checkoutFlow, reportOfferedRate } from '../lib/flows.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { verifyOrFail } from '../lib/teardown.ts';
import type { Stage } from '../lib/thresholds.ts';
import {
  CHECKOUT_ENDPOINTS,
  CHECKOUT_THRESHOLDS,
  INVARIANT_THRESHOLDS,
  SHARED_THRESHOLDS,
  SUMMARY_TREND_STATS,
  abortOnFail,
  merge,
  rampingArrival,
  trackEndpoints,
} from '../lib/thresholds.ts';

const startRate = numberEnv('K6_START_RATE', 10);
const peak = numberEnv('K6_PEAK_RATE', 300);
const stepRate = Math.max(1, numberEnv('K6_STEP_RATE', 20));
const step = durationEnv('K6_STEP', '1m');
const RAMP_MS = 10_000;

const stages: Stage[] = [];
const plan: { durationMs: number; target: number }[] = [];
for (let r = Math.min(peak, startRate + stepRate); ; r = Math.min(peak, r + stepRate)) {
  stages.push({ duration: '10s', target: r }, { duration: step.text, target: r });
  plan.push({ durationMs: RAMP_MS, target: r }, { durationMs: step.ms, target: r });
  if (r >= peak) break;
}
reportOfferedRate(startRate, plan);
const totalMs = plan.reduce((n, p) => n + p.durationMs, 0);

export const options: Options = {
  scenarios: {
    checkout: rampingArrival('checkout', { startRate, stages, preAllocatedVUs: Math.max(20, startRate * 2), maxVUs: Math.max(200, peak * 10) }),
  },
  thresholds: merge(abortOnFail(merge(SHARED_THRESHOLDS, CHECKOUT_THRESHOLDS), '30s'), INVARIANT_THRESHOLDS, trackEndpoints(CHECKOUT_ENDPOINTS)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '20m',
};

export function setup(): RunData {
  return prepareRun('stress', { checkout: true, expectedDurationMs: totalMs });
}

export function checkout(data: RunData): void {
  checkoutFlow(data);
}

export function teardown(data: RunData): void {
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('stress');
