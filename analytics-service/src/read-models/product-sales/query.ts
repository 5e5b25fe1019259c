import type { Knex } from 'knex';

export interface ProductSales {
  sku: string;
  name: string | null;
  category: string | null;
  currency: string;
  units: number;
  revenue: number;
  orders: number;
}

/** The top `limit` products by units or revenue (ties by SKU), net of cancellations. */
export async function topProducts(
  db: Knex,
  options: { limit: number; by: 'units' | 'revenue'; currency?: string },
): Promise<ProductSales[]> {
  const q = db('product_sales as s')
    .leftJoin('product_sales_products as p', 'p.sku', 's.sku')
    .select('s.sku', 'p.name', 'p.category', 's.currency', 's.units', 's.revenue', 's.orders')
    .orderBy([{ column: `s.${options.by}`, order: 'desc' }, { column: 's.sku' }, { column: 's.currency' }])
    .limit(options.limit);
  if (options.currency) void q.where('s.currency', options.currency);
  const rows = (await q) as { sku: string; name: string | null; category: string | null; currency: string; units: string; revenue: string; orders: string }[];
  return rows.map((r) => ({ ...r, units: Number(r.units), revenue: Number(r.revenue), orders: Number(r.orders) }));
}
