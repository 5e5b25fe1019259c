import type { Knex } from 'knex';
import { bucketSql, type TimeRange } from '../buckets';

export type SagaTypeFilter = 'place-order' | 'cancel-order';

export interface SagaLatencyPoint {
  at: string;
  /** Sagas that ended in the bucket. */
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Of those, how many needed at least one compensation. */
  compensated: number;
  /** compensated / count, 0..1. */
  compensationRate: number;
}

/**
 * Per bucket of saga end times in [from, to): duration percentiles (nearest
 * rank, `percentile_disc`, so every figure is a duration that occurred) and
 * the compensation rate. Empty buckets are left out.
 */
export async function sagaLatencySeries(db: Knex, range: TimeRange, sagaType: SagaTypeFilter = 'place-order'): Promise<SagaLatencyPoint[]> {
  const res = (await db.raw(
    `select ${bucketSql('ended_at', range.bucket)} as at,
            count(*)::int as count,
            percentile_disc(0.5) within group (order by duration_ms) as p50,
            percentile_disc(0.95) within group (order by duration_ms) as p95,
            percentile_disc(0.99) within group (order by duration_ms) as p99,
            (count(*) filter (where compensations > 0))::int as compensated
       from saga_runs
      where ended_at >= ? and ended_at < ? and saga_type = ?
      group by 1 order by 1`,
    [range.from, range.to, sagaType],
  )) as { rows: { at: Date; count: number; p50: string; p95: string; p99: string; compensated: number }[] };
  return res.rows.map((r) => ({
    at: r.at.toISOString(),
    count: r.count,
    p50Ms: Number(r.p50),
    p95Ms: Number(r.p95),
    p99Ms: Number(r.p99),
    compensated: r.compensated,
    compensationRate: r.count === 0 ? 0 : r.compensated / r.count,
  }));
}
