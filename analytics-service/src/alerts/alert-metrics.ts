import type { Knex } from 'knex';
import type { AlertRuleSettings, Observation } from './alert-rule';

const MINUTE = 60_000;

/**
 * Measures a rule's metric over its window ending at `now`, from the
 * projections' tables. The funnel is kept per minute, so its window is the
 * last `windowMinutes` minutes including the current one; saga end times
 * are exact. No samples -> an observation with 0 samples (which never holds
 * when `minSamples` >= 1), so a quiet window resolves a rate alert.
 */
export async function observe(db: Knex, rule: AlertRuleSettings, now: Date): Promise<Observation[]> {
  const since = new Date(now.getTime() - rule.windowMinutes * MINUTE);
  const sinceMinute = new Date(now.getTime() - (now.getTime() % MINUTE) - (rule.windowMinutes - 1) * MINUTE);
  switch (rule.metric) {
    case 'rejection_rate': {
      const res = (await db.raw(
        `select coalesce(sum(count) filter (where stage = 'rejected'), 0)::bigint as rejected,
                coalesce(sum(count) filter (where stage = 'confirmed'), 0)::bigint as confirmed
           from order_funnel_minute where minute >= ? and minute <= ?`,
        [sinceMinute, now],
      )) as { rows: { rejected: string; confirmed: string }[] };
      const rejected = Number(res.rows[0]!.rejected);
      const samples = rejected + Number(res.rows[0]!.confirmed);
      return [{ subject: '', value: samples === 0 ? 0 : rejected / samples, samples }];
    }
    case 'orders_placed': {
      const res = (await db.raw(
        `select coalesce(sum(count), 0)::bigint as placed from order_funnel_minute where stage = 'placed' and minute >= ? and minute <= ?`,
        [sinceMinute, now],
      )) as { rows: { placed: string }[] };
      const placed = Number(res.rows[0]!.placed);
      return [{ subject: '', value: placed, samples: placed }];
    }
    case 'saga_p95_ms':
    case 'compensation_rate': {
      const res = (await db.raw(
        `select count(*)::int as n,
                coalesce(percentile_disc(0.95) within group (order by duration_ms), 0) as p95,
                (count(*) filter (where compensations > 0))::int as compensated
           from saga_runs where saga_type = 'place-order' and ended_at > ? and ended_at <= ?`,
        [since, now],
      )) as { rows: { n: number; p95: string; compensated: number }[] };
      const { n, p95, compensated } = res.rows[0]!;
      const value = rule.metric === 'saga_p95_ms' ? Number(p95) : n === 0 ? 0 : compensated / n;
      return [{ subject: '', value, samples: n }];
    }
    case 'stock_available': {
      const q = db('stock_levels').select('sku', 'available').orderBy('sku');
      if (rule.sku) void q.where({ sku: rule.sku });
      const rows = (await q) as { sku: string; available: string }[];
      return rows.map((r) => ({ subject: r.sku, value: Number(r.available), samples: 1 }));
    }
  }
}
