const MINUTE_MS = 60_000;

/** The last `minutes` whole minutes up to and including the current one, as API query bounds. */
export interface MinuteWindow {
  from: Date;
  to: Date;
  /** Start of every minute in [from, to), oldest first. */
  minutes: Date[];
}

export function lastMinutes(now: Date, minutes: number): MinuteWindow {
  const to = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const from = new Date(to.getTime() - minutes * MINUTE_MS);
  return { from, to, minutes: Array.from({ length: minutes }, (_, i) => new Date(from.getTime() + i * MINUTE_MS)) };
}

/**
 * The API leaves empty buckets out; a chart needs one value per minute.
 * `missing` fills the gaps: 0 for counts, null (a gap in the line) for
 * measurements such as latencies.
 */
export function perMinute<P extends { at: string }>(
  window: MinuteWindow,
  points: readonly P[],
  value: (p: P) => number,
  missing: number | null,
): (number | null)[] {
  const byMinute = new Map(points.map((p) => [Math.floor(Date.parse(p.at) / MINUTE_MS) * MINUTE_MS, p]));
  return window.minutes.map((m) => {
    const p = byMinute.get(m.getTime());
    return p ? value(p) : missing;
  });
}

export function minuteLabels(window: MinuteWindow): string[] {
  return window.minutes.map((m) => m.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
}
