/**
 * The shared thresholds (what a passing run means) and the scenario shapes.
 */
import type { Scenario, Threshold } from 'k6/options';

/**
 * Every scenario:
 * - http_req_failed: fewer than 0.1 % of requests answered something other
 *   than the statuses the call expects (each call declares its own);
 * - read p99: customers' reads (catalog, availability; tag kind=read) under 200 ms at the 99th percentile;
 * - checks: more than 99.9 % of the checks pass.
 */
export const SHARED_THRESHOLDS: Record<string, string[]> = {
  http_req_failed: ['rate<0.001'],
  'http_req_duration{kind:read}': ['p(99)<200'],
  checks: ['rate>0.999'],
};

/**
 * Scenarios that place orders:
 * - order_terminal_ms: POST /v1/orders → terminal status under 1 s at the 99th percentile
 *   (the bar `npm run bench:saga` calls sustained, docs/benchmarks.md);
 * - orders_confirmed: every order with an approving payment token is confirmed,
 *   and no order with a declining or unknown token is.
 */
export const CHECKOUT_THRESHOLDS: Record<string, string[]> = {
  order_terminal_ms: ['p(99)<1000'],
  'orders_confirmed{payment:approve}': ['rate>0.999'],
  'orders_confirmed{payment:decline}': ['rate==0'],
  'orders_confirmed{payment:unknown}': ['rate==0'],
};

/** The teardown's verdict: any invariant violation fails the run (the teardown also throws). */
export const INVARIANT_THRESHOLDS: Record<string, string[]> = {
  invariant_violations: ['count==0'],
};

/** A threshold that always passes, only so that k6 keeps the submetric (per-endpoint latency) in the summary. */
export const TRACKING = 'max>=0';

/** Per-endpoint p50/p95/p99 in the summary: k6 reports a tagged submetric only when a threshold names it. */
export function trackEndpoints(names: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of names) out[`http_req_duration{name:${n}}`] = [TRACKING];
  // And per kind (read has its real threshold already).
  for (const k of ['write', 'poll', 'admin', 'ops']) out[`http_req_duration{kind:${k}}`] = [TRACKING];
  return out;
}

/** The same thresholds, each aborting the run as soon as it fails (after `delayAbortEval`, so a few early samples do not decide). */
export function abortOnFail(thresholds: Record<string, Threshold[]>, delayAbortEval = '30s'): Record<string, Threshold[]> {
  const out: Record<string, Threshold[]> = {};
  for (const k of Object.keys(thresholds)) {
    out[k] = (thresholds[k] ?? []).map((t) => ({ ...(typeof t === 'string' ? { threshold: t } : t), abortOnFail: true, delayAbortEval }));
  }
  return out;
}

export function merge(...parts: Record<string, Threshold[]>[]): Record<string, Threshold[]> {
  const out: Record<string, Threshold[]> = {};
  for (const p of parts) for (const k of Object.keys(p)) out[k] = (out[k] ?? []).concat(p[k] ?? []);
  return out;
}

/** Trend statistics in the summary (p50/p95/p99 for the report). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)', 'count'];

// --- scenario shapes ----------------------------------------------------

export function constantArrival(exec: string, o: { rate: number; duration: string; preAllocatedVUs: number; maxVUs: number; startTime?: string }): Scenario {
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate: o.rate,
    timeUnit: '1s',
    duration: o.duration,
    preAllocatedVUs: o.preAllocatedVUs,
    maxVUs: o.maxVUs,
    gracefulStop: '30s',
    tags: { flow: exec },
    ...(o.startTime ? { startTime: o.startTime } : {}),
  };
}

export interface Stage {
  duration: string;
  target: number;
}

export function rampingArrival(exec: string, o: { startRate: number; stages: Stage[]; preAllocatedVUs: number; maxVUs: number }): Scenario {
  return {
    executor: 'ramping-arrival-rate',
    exec,
    startRate: o.startRate,
    timeUnit: '1s',
    stages: o.stages,
    preAllocatedVUs: o.preAllocatedVUs,
    maxVUs: o.maxVUs,
    gracefulStop: '30s',
    tags: { flow: exec },
  };
}

/** The rate a ramping-arrival-rate profile offers `elapsedMs` after it started (linear within a stage, as k6 ramps). */
export function rateAt(startRate: number, stages: readonly { durationMs: number; target: number }[], elapsedMs: number): number {
  let from = startRate;
  let t = elapsedMs;
  for (const st of stages) {
    if (t <= st.durationMs) return st.durationMs === 0 ? st.target : from + ((st.target - from) * t) / st.durationMs;
    t -= st.durationMs;
    from = st.target;
  }
  return from;
}

/** Endpoints of the browse flow, of checkout, for per-endpoint latency in the reports. */
export const BROWSE_ENDPOINTS = ['catalog.list', 'catalog.next-page', 'catalog.search', 'catalog.filter', 'catalog.get', 'inventory.stock', 'inventory.availability'];
export const CHECKOUT_ENDPOINTS = ['order.place', 'order.place-replay', 'order.follow'];
/** Every endpoint name lib/api.ts tags (the smoke calls each). */
export const ALL_ENDPOINTS = BROWSE_ENDPOINTS.concat(CHECKOUT_ENDPOINTS, [
  'catalog.add',
  'catalog.change-details',
  'catalog.set-price',
  'catalog.discontinue',
  'inventory.receive',
  'inventory.adjust',
  'order.get',
  'order.get.admin',
  'order.list',
  'inventory.stock.admin',
  'catalog.list.admin',
  'order.cancel',
  'coordinator.sagas',
  'coordinator.sagas-stuck',
  'coordinator.saga',
  'coordinator.saga-retry',
  'coordinator.saga-abort',
  'analytics.funnel',
  'analytics.revenue',
  'analytics.top-products',
  'analytics.stock',
  'analytics.stock-outs',
  'analytics.orders-live',
  'analytics.saga-latency',
  'analytics.projections',
  'analytics.alerts',
  'analytics.alerts-history',
  'analytics.alert-rules',
  'analytics.alert-rule-create',
  'analytics.alert-rule',
  'analytics.alert-rule-replace',
  'analytics.alert-rule-delete',
  'analytics.dashboard',
]);
