import type { Knex } from 'knex';
import { bucketSql, type TimeRange } from '../buckets';

export interface RevenuePoint {
  at: string;
  currency: string;
  confirmedAmount: number;
  confirmedOrders: number;
  cancelledAmount: number;
  cancelledOrders: number;
  netAmount: number;
}

/**
 * Non-empty buckets in [from, to), oldest first, one point per currency.
 * Day buckets read the per-day table; minute and hour buckets the per-minute one.
 */
export async function revenueSeries(db: Knex, range: TimeRange, currency?: string): Promise<RevenuePoint[]> {
  const [table, column] = range.bucket === 'day' ? ['revenue_day', 'day'] : ['revenue_minute', 'minute'];
  const params: Knex.RawBinding[] = [range.from, range.to];
  if (currency) params.push(currency);
  const res = (await db.raw(
    `select ${bucketSql(column, range.bucket)} as at, currency,
            sum(confirmed_amount)::bigint as confirmed_amount, sum(confirmed_orders)::bigint as confirmed_orders,
            sum(cancelled_amount)::bigint as cancelled_amount, sum(cancelled_orders)::bigint as cancelled_orders
       from ${table} where ${column} >= ? and ${column} < ? ${currency ? 'and currency = ?' : ''}
       group by 1, 2 order by 1, 2`,
    params,
  )) as { rows: { at: Date; currency: string; confirmed_amount: string; confirmed_orders: string; cancelled_amount: string; cancelled_orders: string }[] };
  return res.rows.map((r) => ({
    at: r.at.toISOString(),
    currency: r.currency,
    confirmedAmount: Number(r.confirmed_amount),
    confirmedOrders: Number(r.confirmed_orders),
    cancelledAmount: Number(r.cancelled_amount),
    cancelledOrders: Number(r.cancelled_orders),
    netAmount: Number(r.confirmed_amount) - Number(r.cancelled_amount),
  }));
}
