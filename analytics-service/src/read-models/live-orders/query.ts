import type { Knex } from 'knex';
import type { OrderChannel } from '@shop/contracts';
import type { LiveOrderStatus } from './projection';

export interface LiveOrder {
  orderId: string;
  customerId: string | null;
  status: LiveOrderStatus;
  lineCount: number | null;
  units: number | null;
  total: { amount: number; currency: string } | null;
  reason: string | null;
  placedAt: string | null;
  updatedAt: string;
  /** How the order was placed; null while only later facts about it are archived. */
  channel: OrderChannel | null;
}

/** The last `limit` orders placed, newest first, with their current status. */
export async function liveOrders(db: Knex, options: { limit: number; status?: LiveOrderStatus }): Promise<LiveOrder[]> {
  const q = db('live_orders')
    .select('*')
    .orderByRaw('placed_at desc nulls last, last_position desc')
    .limit(options.limit);
  if (options.status) void q.where({ status: options.status });
  const rows = (await q) as {
    order_id: string;
    customer_id: string | null;
    status: LiveOrderStatus;
    line_count: number | null;
    units: number | null;
    total_amount: string | null;
    currency: string | null;
    reason: string | null;
    placed_at: Date | null;
    updated_at: Date;
    channel: OrderChannel | null;
  }[];
  return rows.map((r) => ({
    orderId: r.order_id,
    customerId: r.customer_id,
    status: r.status,
    lineCount: r.line_count,
    units: r.units,
    total: r.total_amount !== null && r.currency !== null ? { amount: Number(r.total_amount), currency: r.currency } : null,
    reason: r.reason,
    placedAt: r.placed_at ? r.placed_at.toISOString() : null,
    updatedAt: r.updated_at.toISOString(),
    channel: r.channel,
  }));
}
