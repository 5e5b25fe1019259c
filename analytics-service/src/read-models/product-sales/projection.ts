import { OrderCancelled, OrderConfirmed, ProductAdded, contracts, type MessageData, type PricedLine, type Registry } from '@shop/contracts';
import type { Projection, ProjectionContext } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { addTo, appliedTable, firstApplication } from '../support';

/**
 * Read model `product_sales`: per SKU and currency, units sold and revenue
 * of confirmed orders, net of cancelled confirmed orders (whose stock the
 * inventory restocks), plus product names from the catalog.
 */
export function productSalesProjection(registry: Registry = contracts): Projection {
  return {
    name: 'product_sales',
    filter: { categories: ['order', 'catalog'] },
    tables: {
      product_sales: (t) => `
        create table ${t} (
          sku text not null,
          currency text not null,
          units bigint not null,
          revenue bigint not null,
          orders bigint not null,
          primary key (sku, currency)
        )`,
      product_sales_orders: (t) => `
        create table ${t} (
          order_id uuid primary key,
          lines jsonb,
          status text not null
        )`,
      product_sales_products: (t) => `
        create table ${t} (
          sku text primary key,
          name text not null,
          category text not null
        )`,
      product_sales_applied: appliedTable,
    },
    async apply(event, ctx) {
      if (event.type !== OrderConfirmed.type && event.type !== OrderCancelled.type && event.type !== ProductAdded.type) return;
      if (!(await firstApplication(ctx, 'product_sales_applied', event))) return;
      const orders = ctx.table('product_sales_orders');
      if (event.type === ProductAdded.type) {
        const d = readArchived<MessageData<typeof ProductAdded>>(event, registry);
        await ctx
          .trx(ctx.table('product_sales_products'))
          .insert({ sku: d.sku, name: d.name, category: d.category })
          .onConflict('sku')
          .merge();
      } else if (event.type === OrderConfirmed.type) {
        const d = readArchived<MessageData<typeof OrderConfirmed>>(event, registry);
        const inserted = (await ctx
          .trx(orders)
          .insert({ order_id: d.orderId, lines: JSON.stringify(d.lines), status: 'confirmed' })
          .onConflict('order_id')
          .ignore()
          .returning('order_id')) as unknown[];
        if (inserted.length > 0) await addLines(ctx, d.lines, 1);
      } else {
        const d = readArchived<MessageData<typeof OrderCancelled>>(event, registry);
        const cancelled = (await ctx
          .trx(orders)
          .where({ order_id: d.orderId, status: 'confirmed' })
          .update({ status: 'cancelled' })
          .returning('lines')) as { lines: PricedLine[] }[];
        if (cancelled[0]) await addLines(ctx, cancelled[0].lines, -1);
        else await ctx.trx(orders).insert({ order_id: d.orderId, status: 'cancelled_unconfirmed' }).onConflict('order_id').ignore();
      }
    },
  };
}

async function addLines(ctx: ProjectionContext, lines: PricedLine[], sign: 1 | -1): Promise<void> {
  // One order may list a SKU twice: sum per SKU first so its order counts once.
  const bySku = new Map<string, { currency: string; units: number; revenue: number }>();
  for (const line of lines) {
    const key = `${line.sku}\u0000${line.lineTotal.currency}`;
    const acc = bySku.get(key) ?? { currency: line.lineTotal.currency, units: 0, revenue: 0 };
    acc.units += line.quantity;
    acc.revenue += line.lineTotal.amount;
    bySku.set(key, acc);
  }
  for (const [key, acc] of bySku) {
    await addTo(ctx, 'product_sales', { sku: key.split('\u0000')[0], currency: acc.currency }, {
      units: sign * acc.units,
      revenue: sign * acc.revenue,
      orders: sign,
    });
  }
}
