import { OrderCancelled, OrderConfirmed, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection, ProjectionContext } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { addTo, appliedTable, dayOf, firstApplication, minuteOf } from '../support';

const totalsTable = (key: 'minute' | 'day') => (t: string) => `
  create table ${t} (
    ${key} timestamptz not null,
    currency text not null,
    confirmed_amount bigint not null,
    confirmed_orders bigint not null,
    cancelled_amount bigint not null,
    cancelled_orders bigint not null,
    primary key (${key}, currency)
  )`;

/**
 * Read model `revenue`: per UTC minute and per UTC day, by currency, the
 * totals of confirmed orders (at confirmation time) and of cancelled
 * confirmed orders (at cancellation time); net = confirmed - cancelled.
 * `revenue_orders` remembers each confirmed order's total, so a cancellation
 * of an order that was never confirmed subtracts nothing.
 */
export function revenueProjection(registry: Registry = contracts): Projection {
  return {
    name: 'revenue',
    filter: { categories: ['order'] },
    tables: {
      revenue_minute: totalsTable('minute'),
      revenue_day: totalsTable('day'),
      revenue_orders: (t) => `
        create table ${t} (
          order_id uuid primary key,
          currency text,
          amount bigint,
          status text not null
        )`,
      revenue_applied: appliedTable,
    },
    async apply(event, ctx) {
      if (event.type !== OrderConfirmed.type && event.type !== OrderCancelled.type) return;
      if (!(await firstApplication(ctx, 'revenue_applied', event))) return;
      const orders = ctx.table('revenue_orders');
      if (event.type === OrderConfirmed.type) {
        const d = readArchived<MessageData<typeof OrderConfirmed>>(event, registry);
        const inserted = (await ctx
          .trx(orders)
          .insert({ order_id: d.orderId, currency: d.total.currency, amount: d.total.amount, status: 'confirmed' })
          .onConflict('order_id')
          .ignore()
          .returning('order_id')) as unknown[];
        if (inserted.length === 0) return;
        await addTotals(ctx, d.confirmedAt, d.total.currency, { confirmed_amount: d.total.amount, confirmed_orders: 1 });
      } else {
        const d = readArchived<MessageData<typeof OrderCancelled>>(event, registry);
        const cancelled = (await ctx
          .trx(orders)
          .where({ order_id: d.orderId, status: 'confirmed' })
          .update({ status: 'cancelled' })
          .returning(['currency', 'amount'])) as { currency: string; amount: string }[];
        const row = cancelled[0];
        if (!row) {
          // Cancelled before it was confirmed: nothing to subtract, and a late confirmation counts nothing either.
          await ctx.trx(orders).insert({ order_id: d.orderId, status: 'cancelled_unconfirmed' }).onConflict('order_id').ignore();
          return;
        }
        await addTotals(ctx, d.cancelledAt, row.currency, { cancelled_amount: Number(row.amount), cancelled_orders: 1 });
      }
    },
  };
}

async function addTotals(
  ctx: ProjectionContext,
  at: string,
  currency: string,
  delta: Partial<Record<'confirmed_amount' | 'confirmed_orders' | 'cancelled_amount' | 'cancelled_orders', number>>,
): Promise<void> {
  const increments = { confirmed_amount: 0, confirmed_orders: 0, cancelled_amount: 0, cancelled_orders: 0, ...delta };
  await addTo(ctx, 'revenue_minute', { minute: minuteOf(at), currency }, increments);
  await addTo(ctx, 'revenue_day', { day: dayOf(at), currency }, increments);
}
