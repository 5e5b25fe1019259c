import { OrderCancelled, OrderConfirmed, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { CounterFold, dayKey, insertRows, minuteKey, rowsByKey } from '../support';

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

const TOTALS = ['confirmed_amount', 'confirmed_orders', 'cancelled_amount', 'cancelled_orders'];
const ORDER_COLUMNS = [
  { name: 'order_id', type: 'uuid' },
  { name: 'currency', type: 'text' },
  { name: 'amount', type: 'bigint' },
  { name: 'status', type: 'text' },
  { name: 'last_position', type: 'bigint' },
];

interface Change {
  position: number;
  confirmed?: MessageData<typeof OrderConfirmed>;
  cancelled?: MessageData<typeof OrderCancelled>;
}

interface OrderRow {
  order_id: string;
  currency: string | null;
  amount: string | number | null;
  status: 'confirmed' | 'cancelled' | 'cancelled_unconfirmed';
  last_position: string | number;
}

/**
 * Read model `revenue`: per UTC minute and per UTC day, by currency, the
 * totals of confirmed orders (at confirmation time) and of cancelled
 * confirmed orders (at cancellation time); net = confirmed - cancelled.
 * `revenue_orders` remembers each confirmed order's total, so a cancellation
 * of an order that was never confirmed subtracts nothing.
 *
 * Idempotent through `revenue_orders`: a total only moves when an order
 * changes state there, and an order row ignores events at or before the
 * last one it reflects (`last_position`).
 */
export function revenueProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'revenue',
    filter: { categories: ['order'], types: [OrderConfirmed.type, OrderCancelled.type] },
    readsMetadata: false,
    tables: {
      revenue_minute: totalsTable('minute'),
      revenue_day: totalsTable('day'),
      revenue_orders: (t) => `
        create table ${t} (
          order_id uuid primary key,
          currency text,
          amount bigint,
          status text not null,
          last_position bigint not null
        )`,
    },
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      const relevant = events.filter((e) => e.type === OrderConfirmed.type || e.type === OrderCancelled.type);
      if (relevant.length === 0) return;
      const changes = relevant.map((e): Change =>
        e.type === OrderConfirmed.type
          ? { position: e.position, confirmed: readArchived<MessageData<typeof OrderConfirmed>>(e, registry) }
          : { position: e.position, cancelled: readArchived<MessageData<typeof OrderCancelled>>(e, registry) },
      );
      const orderIds = [...new Set(changes.map((c) => (c.confirmed ?? c.cancelled)!.orderId))];
      const stored = await rowsByKey<OrderRow>(ctx, 'revenue_orders', [ORDER_COLUMNS[0]!], orderIds.map((id) => [id]), ORDER_COLUMNS.map((c) => c.name));
      const orders = new Map(stored.map((r) => [r.order_id, { ...r, last_position: Number(r.last_position) }]));
      const changed = new Set<string>();
      const minute = new CounterFold('revenue_minute', [{ name: 'minute', type: 'timestamptz' }, { name: 'currency', type: 'text' }], TOTALS, { highWater: false });
      const day = new CounterFold('revenue_day', [{ name: 'day', type: 'timestamptz' }, { name: 'currency', type: 'text' }], TOTALS, { highWater: false });
      const count = (at: string, currency: string, deltas: number[], position: number) => {
        minute.add([minuteKey(at), currency], deltas, position);
        day.add([dayKey(at), currency], deltas, position);
      };

      for (const { position, confirmed, cancelled } of changes) {
        const orderId = (confirmed ?? cancelled)!.orderId;
        let order = orders.get(orderId);
        if (order && order.last_position >= position) continue;
        if (confirmed) {
          // A confirmation of an order already known (cancelled before it was confirmed) counts nothing.
          if (!order) {
            order = { order_id: orderId, currency: confirmed.total.currency, amount: confirmed.total.amount, status: 'confirmed', last_position: position };
            count(confirmed.confirmedAt, confirmed.total.currency, [confirmed.total.amount, 1, 0, 0], position);
          }
        } else if (cancelled) {
          if (order?.status === 'confirmed') {
            order.status = 'cancelled';
            count(cancelled.cancelledAt, order.currency!, [0, 0, Number(order.amount), 1], position);
          } else if (!order) {
            // Cancelled before it was confirmed: nothing to subtract, and a late confirmation counts nothing either.
            order = { order_id: orderId, currency: null, amount: null, status: 'cancelled_unconfirmed', last_position: position };
          }
        }
        order!.last_position = position;
        orders.set(orderId, order!);
        changed.add(orderId);
      }

      await insertRows(
        ctx,
        'revenue_orders',
        ORDER_COLUMNS,
        [...changed].map((id) => {
          const o = orders.get(id)!;
          return [o.order_id, o.currency, o.amount, o.status, o.last_position];
        }),
        'on conflict (order_id) do update set currency = excluded.currency, amount = excluded.amount, status = excluded.status, last_position = excluded.last_position',
      );
      await minute.write(ctx);
      await day.write(ctx);
    },
  };
  return projection;
}
