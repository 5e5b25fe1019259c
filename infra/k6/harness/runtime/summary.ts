import type { ThresholdSpec } from './options';
import type { GroupNode, HarnessState, MetricDef, Sample } from './state';

/**
 * The data k6 hands `handleSummary()`: `metrics` (each with type, contains,
 * values and, where the script set thresholds, `thresholds: { expr: { ok } }`),
 * `root_group` (groups and checks), `options` and `state`. Thresholds are not
 * evaluated against the figures of one iteration: `ok` is always true.
 */

const DEFAULT_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

/** k6's TrendSink.P: linear interpolation between the closest ranks. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0]!;
  const i = p * (sorted.length - 1);
  const lower = Math.floor(i);
  const upper = Math.ceil(i);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (i - lower);
}

function trendValues(values: number[], stats: string[]): Record<string, number> {
  const sorted = [...values].sort((a, b) => a - b);
  const out: Record<string, number> = {};
  for (const stat of stats) {
    const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
    if (p) out[stat] = percentile(sorted, Number(p[1]) / 100);
    else if (stat === 'avg') out.avg = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
    else if (stat === 'min') out.min = sorted[0] ?? 0;
    else if (stat === 'max') out.max = sorted[sorted.length - 1] ?? 0;
    else if (stat === 'med') out.med = percentile(sorted, 0.5);
    else if (stat === 'count') out.count = sorted.length;
  }
  return out;
}

function valuesOf(def: MetricDef, samples: Sample[], durationMs: number, trendStats: string[]): Record<string, number> {
  const values = samples.map((s) => s.value);
  switch (def.type) {
    case 'counter': {
      const count = values.reduce((a, b) => a + b, 0);
      return { count, rate: durationMs > 0 ? count / (durationMs / 1000) : 0 };
    }
    case 'gauge':
      return { value: values[values.length - 1] ?? 0, min: values.length ? Math.min(...values) : 0, max: values.length ? Math.max(...values) : 0 };
    case 'rate': {
      const passes = values.filter((v) => v !== 0).length;
      return { rate: values.length ? passes / values.length : 0, passes, fails: values.length - passes };
    }
    case 'trend':
      return trendValues(values, trendStats);
  }
}

const cloneGroup = (g: GroupNode): GroupNode => ({
  name: g.name,
  path: g.path,
  id: g.id,
  groups: g.groups.map(cloneGroup),
  checks: g.checks.map((c) => ({ ...c })),
});

export function buildSummary(state: HarnessState, thresholds: ThresholdSpec[], setupData: unknown): Record<string, unknown> {
  const durationMs = Date.now() - state.startedAt;
  const trendStats = Array.isArray(state.options.summaryTrendStats) ? (state.options.summaryTrendStats as string[]) : DEFAULT_TREND_STATS;
  const byMetric = new Map<string, Sample[]>();
  for (const s of state.samples) {
    const list = byMetric.get(s.metric) ?? [];
    list.push(s);
    byMetric.set(s.metric, list);
  }
  const metrics: Record<string, Record<string, unknown>> = {};
  const entry = (def: MetricDef, samples: Sample[]) => ({ type: def.type, contains: def.contains, values: valuesOf(def, samples, durationMs, trendStats) });
  for (const [name, samples] of byMetric) {
    const def = state.metrics.get(name);
    if (def) metrics[name] = entry(def, samples);
  }
  for (const t of thresholds) {
    const def = state.metrics.get(t.metric);
    if (!def || !t.valid) continue;
    const samples = (byMetric.get(t.metric) ?? []).filter((s) => Object.entries(t.tags).every(([k, v]) => s.tags[k] === v));
    const target = (metrics[t.key] ??= entry(def, samples));
    const list = (target.thresholds ??= {}) as Record<string, { ok: boolean }>;
    list[t.expression] = { ok: true };
  }
  return {
    root_group: cloneGroup(state.rootGroup),
    options: {
      summaryTrendStats: trendStats,
      summaryTimeUnit: typeof state.options.summaryTimeUnit === 'string' ? state.options.summaryTimeUnit : '',
      noColor: false,
    },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics,
    ...(setupData === undefined ? {} : { setup_data: setupData }),
  };
}
