import { OrderCancelled, OrderConfirmed, ProductAdded, contracts, type MessageData, type PricedLine, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { CounterFold, insertRows, rowsByKey } from '../support';

const ORDER_COLUMNS = [
  { name: 'order_id', type: 'uuid' },
  { name: 'sales', type: 'jsonb' },
  { name: 'status', type: 'text' },
  { name: 'last_position', type: 'bigint' },
];
const PRODUCT_COLUMNS = [
  { name: 'sku', type: 'text' },
  { name: 'name', type: 'text' },
  { name: 'category', type: 'text' },
  { name: 'last_position', type: 'bigint' },
];

/** What one order adds to `product_sales`: per SKU and currency, [sku, currency, units, revenue]. */
type OrderSales = [sku: string, currency: string, units: number, revenue: number][];

interface OrderRow {
  order_id: string;
  sales: OrderSales | null;
  status: 'confirmed' | 'cancelled' | 'cancelled_unconfirmed';
  last_position: number;
}

type Change =
  | { position: number; kind: 'product'; data: MessageData<typeof ProductAdded> }
  | { position: number; kind: 'confirmed'; data: MessageData<typeof OrderConfirmed> }
  | { position: number; kind: 'cancelled'; data: MessageData<typeof OrderCancelled> };

/**
 * Read model `product_sales`: per SKU and currency, units sold and revenue
 * of confirmed orders, net of cancelled confirmed orders (whose stock the
 * inventory restocks), plus product names from the catalog.
 *
 * Idempotent like `revenue`: sales only move when an order changes state in
 * `product_sales_orders`, whose rows (like the product rows) ignore events
 * at or before the last one they reflect (`last_position`).
 */
export function productSalesProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'product_sales',
    filter: { categories: ['order', 'catalog'], types: [OrderConfirmed.type, OrderCancelled.type, ProductAdded.type] },
    readsMetadata: false,
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
          sales jsonb,
          status text not null,
          last_position bigint not null
        )`,
      product_sales_products: (t) => `
        create table ${t} (
          sku text primary key,
          name text not null,
          category text not null,
          last_position bigint not null
        )`,
    },
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      const changes: Change[] = [];
      for (const e of events) {
        if (e.type === ProductAdded.type) changes.push({ position: e.position, kind: 'product', data: readArchived(e, registry) });
        else if (e.type === OrderConfirmed.type) changes.push({ position: e.position, kind: 'confirmed', data: readArchived(e, registry) });
        else if (e.type === OrderCancelled.type) changes.push({ position: e.position, kind: 'cancelled', data: readArchived(e, registry) });
      }
      if (changes.length === 0) return;

      const orderIds = [...new Set(changes.flatMap((c) => (c.kind === 'product' ? [] : [c.data.orderId])))];
      const stored = await rowsByKey<OrderRow>(ctx, 'product_sales_orders', [ORDER_COLUMNS[0]!], orderIds.map((id) => [id]), ORDER_COLUMNS.map((c) => c.name));
      const orders = new Map(stored.map((r) => [r.order_id, { ...r, last_position: Number(r.last_position) }]));
      const changed = new Set<string>();
      // The last ProductAdded of each SKU in the page wins.
      const products = new Map<string, unknown[]>();
      const sales = new CounterFold('product_sales', [{ name: 'sku', type: 'text' }, { name: 'currency', type: 'text' }], ['units', 'revenue', 'orders'], {
        highWater: false,
      });
      const count = (orderSales: OrderSales, sign: 1 | -1, position: number) => {
        for (const [sku, currency, units, revenue] of orderSales) sales.add([sku, currency], [sign * units, sign * revenue, sign], position);
      };

      for (const change of changes) {
        if (change.kind === 'product') {
          const d = change.data;
          products.set(d.sku, [d.sku, d.name, d.category, change.position]);
          continue;
        }
        const orderId = change.data.orderId;
        let order = orders.get(orderId);
        if (order && order.last_position >= change.position) continue;
        if (change.kind === 'confirmed') {
          if (!order) {
            order = { order_id: orderId, sales: salesOf(change.data.lines), status: 'confirmed', last_position: change.position };
            count(order.sales!, 1, change.position);
          }
        } else if (order?.status === 'confirmed') {
          // A cancellation takes back exactly what the confirmation added.
          order.status = 'cancelled';
          count(order.sales ?? [], -1, change.position);
        } else if (!order) {
          order = { order_id: orderId, sales: null, status: 'cancelled_unconfirmed', last_position: change.position };
        }
        order.last_position = change.position;
        orders.set(orderId, order);
        changed.add(orderId);
      }

      await insertRows(
        ctx,
        'product_sales_products',
        PRODUCT_COLUMNS,
        [...products.values()],
        `on conflict (sku) do update set name = excluded.name, category = excluded.category, last_position = excluded.last_position
               where t.last_position < excluded.last_position`,
      );
      await insertRows(
        ctx,
        'product_sales_orders',
        ORDER_COLUMNS,
        [...changed].map((id) => {
          const o = orders.get(id)!;
          return [o.order_id, o.sales === null ? null : JSON.stringify(o.sales), o.status, o.last_position];
        }),
        'on conflict (order_id) do update set sales = excluded.sales, status = excluded.status, last_position = excluded.last_position',
      );
      await sales.write(ctx);
    },
  };
  return projection;
}

/** An order's lines summed per SKU and currency: an order that lists a SKU twice counts once for it. */
function salesOf(lines: PricedLine[]): OrderSales {
  const bySku = new Map<string, OrderSales[number]>();
  for (const line of lines) {
    const key = `${line.sku}\u0000${line.lineTotal.currency}`;
    const acc = bySku.get(key) ?? [line.sku, line.lineTotal.currency, 0, 0];
    acc[2] += line.quantity;
    acc[3] += line.lineTotal.amount;
    bySku.set(key, acc);
  }
  return [...bySku.values()];
}
