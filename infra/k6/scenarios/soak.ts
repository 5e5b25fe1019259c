/**
 * soak: long and low. Checkout at K6_RATE (5) orders/s and browse at
 * K6_BROWSE_RATE (20) visitors/s for K6_DURATION (1h). Setup and teardown
 * read every service's /metrics (Prometheus text, parsed by lib/prometheus.ts):
 * resident memory and its growth over the run, heap used, event-loop lag p99,
 * and the largest projection / outbox / consumer lag; they are logged and
 * reported as gauges (`<service>_rss_mb`, `_rss_growth_mb`, `_heap_used_mb`,
 * `_eventloop_lag_p99_ms`, `_lag_events`). /metrics is not routed by the
 * gateway or the ingress: on compose and k3s set CATALOG_OPS_URL etc. (a
 * port-forward), else those figures are reported as unavailable. Then every
 * invariant of checkout.
 *
 *   k6 run infra/k6/scenarios/soak.ts
 */
import type { Options } from 'k6/options';
import { Gauge } from 'k6/metrics';
import type { Service } from '../lib/config.ts';
import { SERVICES, durationEnv, numberEnv } from '../lib/config.ts';
import { session } from '../lib/api.ts';
import { browse as browseFlow, checkout as checkoutFlow } from '../lib/flows.ts';
import { info } from '../lib/log.ts';
import type { ServiceHealth } from '../lib/prometheus.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun, readHealth } from '../lib/setup.ts';
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

const checkoutRate = numberEnv('K6_RATE', 5);
const browseRate = numberEnv('K6_BROWSE_RATE', 20);
const duration = durationEnv('K6_DURATION', '1h');

type Gauges = { rss: Gauge; growth: Gauge; heap: Gauge; lagP99: Gauge; lag: Gauge };
const gauges = {} as Record<Service, Gauges>;
for (const svc of SERVICES) {
  gauges[svc] = {
    rss: new Gauge(`${svc}_rss_mb`),
    growth: new Gauge(`${svc}_rss_growth_mb`),
    heap: new Gauge(`${svc}_heap_used_mb`),
    lagP99: new Gauge(`${svc}_eventloop_lag_p99_ms`),
    lag: new Gauge(`${svc}_lag_events`),
  };
}

export const options: Options = {
  scenarios: {
    checkout: constantArrival('checkout', { rate: checkoutRate, duration: duration.text, preAllocatedVUs: Math.max(5, checkoutRate * 2), maxVUs: Math.max(50, checkoutRate * 20) }),
    browse: constantArrival('browse', { rate: browseRate, duration: duration.text, preAllocatedVUs: Math.max(5, Math.ceil(browseRate / 5)), maxVUs: Math.max(50, browseRate * 4) }),
  },
  thresholds: merge(SHARED_THRESHOLDS, CHECKOUT_THRESHOLDS, INVARIANT_THRESHOLDS, trackEndpoints(BROWSE_ENDPOINTS.concat(CHECKOUT_ENDPOINTS))),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '3m',
  teardownTimeout: '15m',
};

export function setup(): RunData {
  return prepareRun('soak', { browse: true, checkout: true, health: true, expectedDurationMs: duration.ms });
}

export function checkout(data: RunData): void {
  checkoutFlow(data);
}

export function browse(data: RunData): void {
  browseFlow(data);
}

const fmt = (v: number | undefined, unit: string) => (v === undefined ? 'n/a' : `${v} ${unit}`);
const maxDefined = (...vs: (number | undefined)[]) => vs.reduce<number | undefined>((m, v) => (v === undefined ? m : m === undefined || v > m ? v : m), undefined);

/** Memory and lag of each service at the end, against the start: logged, and added to the gauges. */
function reportHealth(before: Partial<Record<Service, ServiceHealth>>, after: Partial<Record<Service, ServiceHealth>>): string[] {
  const lines: string[] = [];
  for (const svc of SERVICES) {
    const a = after[svc];
    const b = before[svc];
    if (!a) {
      lines.push(`${svc}: /metrics not reachable (set ${svc.toUpperCase()}_OPS_URL on compose and k3s)`);
      continue;
    }
    const growth = a.rssMb !== undefined && b?.rssMb !== undefined ? Math.round((a.rssMb - b.rssMb) * 100) / 100 : undefined;
    const lag = maxDefined(a.projectionLagEvents, a.outboxLagEvents, a.consumerLagMessages);
    const g = gauges[svc];
    if (a.rssMb !== undefined) g.rss.add(a.rssMb);
    if (growth !== undefined) g.growth.add(growth);
    if (a.heapUsedMb !== undefined) g.heap.add(a.heapUsedMb);
    if (a.eventLoopLagP99Ms !== undefined) g.lagP99.add(a.eventLoopLagP99Ms);
    if (lag !== undefined) g.lag.add(lag);
    lines.push(
      `${svc}: rss ${fmt(a.rssMb, 'MiB')} (${growth === undefined ? 'growth n/a' : `${growth >= 0 ? '+' : ''}${growth} MiB over the run`}), heap ${fmt(a.heapUsedMb, 'MiB')}, ` +
        `event-loop lag p99 ${fmt(a.eventLoopLagP99Ms, 'ms')} (mean ${fmt(a.eventLoopLagMeanMs, 'ms')}), projection lag ${fmt(a.projectionLagEvents, 'events')}, ` +
        `outbox lag ${fmt(a.outboxLagEvents, 'events')}, consumer lag ${fmt(a.consumerLagMessages, 'messages')}`,
    );
  }
  return lines;
}

export function teardown(data: RunData): void {
  // Read before the invariants' settling and queries add their own load.
  const lines = reportHealth(data.health ?? {}, readHealth(session()));
  for (const l of lines) info(`soak: ${l}`);
  verifyOrFail(data);
}

export const handleSummary = makeHandleSummary('soak');
