import { fetchTrace, type Trace } from '../jaeger/jaeger-trace';

/** What a sample of the traced orders looked like in Jaeger once the run was over. */
export interface TraceCompleteness {
  /** Orders whose traces were looked up (evenly spread over every step). */
  sampled: number;
  /** ...of which Jaeger had a trace. */
  found: number;
  /** ...whole: every span's parent present, and spans of all five services. */
  whole: number;
  /** Spans per found trace. */
  spans: { min: number; median: number; max: number } | null;
  /** The first trace ids that were missing or not whole, to look at in the UI. */
  incomplete: string[];
}

/** Up to `n` evenly spread items of `items`. */
export function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

/**
 * Looks up each trace in Jaeger, waiting up to `settleMs` for the exporters
 * to deliver the last batches: a run that keeps its rate by losing spans
 * (a full export queue drops them) shows here as traces that are missing or
 * not whole.
 */
export async function traceCompleteness(
  queryUrl: string,
  traceIds: string[],
  services: string[],
  options: { settleMs?: number } = {},
): Promise<TraceCompleteness> {
  const isWhole = (t: Trace | undefined) => t !== undefined && t.whole && services.every((s) => t.services.has(s));
  const until = Date.now() + (options.settleMs ?? 30_000);
  let traces: Map<string, Trace | undefined>;
  for (;;) {
    traces = new Map(await Promise.all(traceIds.map(async (id) => [id, await fetchTrace(queryUrl, id)] as const)));
    if ([...traces.values()].every(isWhole) || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const found = [...traces.values()].filter((t): t is Trace => t !== undefined);
  const counts = found.map((t) => t.spans.length).sort((a, b) => a - b);
  return {
    sampled: traceIds.length,
    found: found.length,
    whole: found.filter(isWhole).length,
    spans: counts.length > 0 ? { min: counts[0]!, median: counts[Math.floor(counts.length / 2)]!, max: counts[counts.length - 1]! } : null,
    incomplete: [...traces.entries()].filter(([, t]) => !isWhole(t)).map(([id]) => id).slice(0, 5),
  };
}
