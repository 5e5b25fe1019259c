import { collectRuntimeMetrics, metricsRegistry } from '@shop/platform';

/**
 * The metric names a service's /metrics can have, as Prometheus stores them:
 * the platform's catalogue (platform/src/observability/metrics.ts) and
 * prom-client's runtime metrics, a histogram as its `_bucket`, `_sum` and
 * `_count` series, a summary as itself plus `_sum` and `_count`; and `up`,
 * which Prometheus adds to every target.
 */
export async function catalogueMetricNames(): Promise<Set<string>> {
  collectRuntimeMetrics();
  const names = new Set<string>(['up']);
  for (const metric of await metricsRegistry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}
