/**
 * browse: visitors at a constant arrival rate, each listing the catalog,
 * searching by name, filtering by category, opening a product and reading
 * its availability (lib/flows.ts browse). Public endpoints only, no tokens.
 *
 *   k6 run infra/k6/scenarios/browse.ts             K6_RATE visitors/s (50), K6_DURATION (2m)
 */
import type { Options } from 'k6/options';
import { durationEnv, numberEnv } from '../lib/config.ts';
import { browse as browseFlow } from '../lib/flows.ts';
import { info } from '../lib/log.ts';
import type { RunData } from '../lib/setup.ts';
import { prepareRun } from '../lib/setup.ts';
import { makeHandleSummary } from '../lib/summary.ts';
import { BROWSE_ENDPOINTS, SHARED_THRESHOLDS, SUMMARY_TREND_STATS, constantArrival, merge, trackEndpoints } from '../lib/thresholds.ts';

const rate = numberEnv('K6_RATE', 50);
const duration = durationEnv('K6_DURATION', '2m');

export const options: Options = {
  scenarios: {
    browse: constantArrival('browse', { rate, duration: duration.text, preAllocatedVUs: Math.max(5, Math.ceil(rate / 5)), maxVUs: Math.max(50, rate * 4) }),
  },
  thresholds: merge(SHARED_THRESHOLDS, trackEndpoints(BROWSE_ENDPOINTS)),
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '2m',
};

export function setup(): RunData {
  return prepareRun('browse', { browse: true, expectedDurationMs: duration.ms });
}

export function browse(data: RunData): void {
  browseFlow(data);
}

/** Nothing was written: nothing to verify. */
export function teardown(data: RunData): void {
  info(`browse run ${data.runId} done (catalog sample of ${data.catalog?.skus.length ?? 0} products, ${data.catalog?.categories.length ?? 0} categories)`);
}

export const handleSummary = makeHandleSummary('browse');
