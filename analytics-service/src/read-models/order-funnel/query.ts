import type { Knex } from 'knex';
import { bucketSql, type TimeRange } from '../buckets';

export interface FunnelPoint {
  at: string;
  placed: number;
  confirmed: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  cancelled: number;
}

/** Non-empty buckets whose minutes lie in [from, to), oldest first. */
export async function funnelSeries(db: Knex, range: TimeRange): Promise<FunnelPoint[]> {
  const res = (await db.raw(
    `select ${bucketSql('minute', range.bucket)} as at, stage, reason, sum(count)::bigint as count
       from order_funnel_minute where minute >= ? and minute < ?
       group by 1, 2, 3 order by 1`,
    [range.from, range.to],
  )) as { rows: { at: Date; stage: string; reason: string; count: string }[] };
  const points = new Map<string, FunnelPoint>();
  for (const r of res.rows) {
    const at = r.at.toISOString();
    let p = points.get(at);
    if (!p) {
      p = { at, placed: 0, confirmed: 0, rejected: 0, rejectedByReason: {}, cancelled: 0 };
      points.set(at, p);
    }
    const n = Number(r.count);
    if (r.stage === 'placed') p.placed += n;
    else if (r.stage === 'confirmed') p.confirmed += n;
    else if (r.stage === 'cancelled') p.cancelled += n;
    else if (r.stage === 'rejected') {
      p.rejected += n;
      p.rejectedByReason[r.reason] = (p.rejectedByReason[r.reason] ?? 0) + n;
    }
  }
  return [...points.values()];
}
