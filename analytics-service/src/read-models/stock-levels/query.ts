import type { Knex } from 'knex';

export interface StockLevel {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  sold: number;
  received: number;
  lastCause: string;
  changedAt: string;
  stockOuts: number;
  lastStockOutAt: string | null;
}

export interface StockOut {
  sku: string;
  at: string;
  cause: string;
  orderId: string | null;
}

/** Current levels per SKU (optionally only some, or only those at or below `maxAvailable`), by SKU. */
export async function stockLevels(db: Knex, options: { skus?: string[]; maxAvailable?: number } = {}): Promise<StockLevel[]> {
  const q = db('stock_levels as l')
    .select(
      'l.*',
      db.raw('(select count(*) from stock_outs o where o.sku = l.sku)::bigint as stock_outs'),
      db.raw('(select max(at) from stock_outs o where o.sku = l.sku) as last_stock_out_at'),
    )
    .orderBy('l.sku');
  if (options.skus && options.skus.length > 0) void q.whereIn('l.sku', options.skus);
  if (options.maxAvailable !== undefined) void q.where('l.available', '<=', options.maxAvailable);
  const rows = (await q) as {
    sku: string;
    on_hand: string;
    reserved: string;
    available: string;
    sold: string;
    received: string;
    last_cause: string;
    changed_at: Date;
    stock_outs: string;
    last_stock_out_at: Date | null;
  }[];
  return rows.map((r) => ({
    sku: r.sku,
    onHand: Number(r.on_hand),
    reserved: Number(r.reserved),
    available: Number(r.available),
    sold: Number(r.sold),
    received: Number(r.received),
    lastCause: r.last_cause,
    changedAt: r.changed_at.toISOString(),
    stockOuts: Number(r.stock_outs),
    lastStockOutAt: r.last_stock_out_at ? r.last_stock_out_at.toISOString() : null,
  }));
}

/** Stock-out events, newest first. */
export async function stockOuts(db: Knex, options: { sku?: string; limit: number }): Promise<StockOut[]> {
  const q = db('stock_outs').select('sku', 'at', 'cause', 'order_id').orderBy('position', 'desc').limit(options.limit);
  if (options.sku) void q.where({ sku: options.sku });
  const rows = (await q) as { sku: string; at: Date; cause: string; order_id: string | null }[];
  return rows.map((r) => ({ sku: r.sku, at: r.at.toISOString(), cause: r.cause, orderId: r.order_id }));
}
