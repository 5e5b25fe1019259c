import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  contracts,
  type MessageData,
  type OrderChannel,
  type Registry,
} from '@shop/contracts';
import type { Projection, RecordedEvent } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { insertRows } from '../support';

export const LIVE_ORDER_STATUSES = ['pending', 'confirmed', 'rejected', 'cancelling', 'cancelled'] as const;
export type LiveOrderStatus = (typeof LIVE_ORDER_STATUSES)[number];

interface Change {
  orderId: string;
  status: LiveOrderStatus;
  at: string;
  placed?: { customerId: string; units: number; lines: number; channel: OrderChannel };
  total?: { amount: number; currency: string };
  reason?: string;
}

const COLUMNS = [
  { name: 'order_id', type: 'uuid' },
  { name: 'customer_id', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'line_count', type: 'int' },
  { name: 'units', type: 'int' },
  { name: 'total_amount', type: 'bigint' },
  { name: 'currency', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'placed_at', type: 'timestamptz' },
  { name: 'updated_at', type: 'timestamptz' },
  { name: 'last_position', type: 'bigint' },
  { name: 'channel', type: 'text' },
];
/** Columns that only some changes set: a change that does not set one keeps the stored value. */
const KEPT = ['customer_id', 'line_count', 'units', 'total_amount', 'currency', 'reason', 'placed_at', 'channel'];

/**
 * Read model `live_orders`: one row per order with its latest status and the
 * channel it was placed through (order.placed v1 reads as 'api', through the
 * contract's upcaster), for the "last N orders" table. Idempotent: a row
 * only moves forward in archive position.
 */
export function liveOrdersProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'live_orders',
    filter: { categories: ['order'], types: [OrderPlaced.type, OrderConfirmed.type, OrderRejected.type, OrderCancellationRequested.type, OrderCancelled.type] },
    readsMetadata: false,
    tables: {
      // `channel` comes last, where migration 0002 added it to tables created before it: the rows of a
      // table built from this DDL (a fresh database, a rebuild) then read, and checksum, like a migrated one's.
      live_orders: (t) => `
        create table ${t} (
          order_id uuid primary key,
          customer_id text,
          status text not null,
          line_count int,
          units int,
          total_amount bigint,
          currency text,
          reason text,
          placed_at timestamptz,
          updated_at timestamptz not null,
          last_position bigint not null,
          channel text
        );
        create index on ${t} (placed_at desc nulls last)`,
    },
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      // Each column of an order takes the value of the last change in the page that sets it. Writing
      // that fold over a row which already reflects some of the page's events (a re-application)
      // changes nothing those events set: the stored value came from the same last setter.
      const rows = new Map<string, Record<string, unknown>>();
      for (const event of events) {
        const change = changeOf(event, registry);
        if (!change) continue;
        let row = rows.get(change.orderId);
        if (!row) rows.set(change.orderId, (row = { order_id: change.orderId }));
        row.status = change.status;
        row.updated_at = change.at;
        row.last_position = event.position;
        if (change.placed) {
          row.customer_id = change.placed.customerId;
          row.line_count = change.placed.lines;
          row.units = change.placed.units;
          row.placed_at = change.at;
          row.channel = change.placed.channel;
        }
        if (change.total) {
          row.total_amount = change.total.amount;
          row.currency = change.total.currency;
        }
        if (change.reason !== undefined) row.reason = change.reason;
      }
      const set = COLUMNS.slice(1).map((c) => (KEPT.includes(c.name) ? `${c.name} = coalesce(excluded.${c.name}, t.${c.name})` : `${c.name} = excluded.${c.name}`));
      await insertRows(
        ctx,
        'live_orders',
        COLUMNS,
        [...rows.values()].map((r) => COLUMNS.map((c) => r[c.name])),
        `on conflict (order_id) do update set ${set.join(', ')} where t.last_position < excluded.last_position`,
      );
    },
  };
  return projection;
}

function changeOf(event: RecordedEvent, registry: Registry): Change | undefined {
  switch (event.type) {
    case OrderPlaced.type: {
      const d = readArchived<MessageData<typeof OrderPlaced>>(event, registry);
      const units = d.lines.reduce((sum, l) => sum + l.quantity, 0);
      return { orderId: d.orderId, status: 'pending', at: d.placedAt, placed: { customerId: d.customerId, units, lines: d.lines.length, channel: d.channel } };
    }
    case OrderConfirmed.type: {
      const d = readArchived<MessageData<typeof OrderConfirmed>>(event, registry);
      return { orderId: d.orderId, status: 'confirmed', at: d.confirmedAt, total: d.total };
    }
    case OrderRejected.type: {
      const d = readArchived<MessageData<typeof OrderRejected>>(event, registry);
      return { orderId: d.orderId, status: 'rejected', at: d.rejectedAt, reason: d.reason };
    }
    case OrderCancellationRequested.type: {
      const d = readArchived<MessageData<typeof OrderCancellationRequested>>(event, registry);
      return { orderId: d.orderId, status: 'cancelling', at: d.requestedAt };
    }
    case OrderCancelled.type: {
      const d = readArchived<MessageData<typeof OrderCancelled>>(event, registry);
      return { orderId: d.orderId, status: 'cancelled', at: d.cancelledAt, reason: d.reason };
    }
    default:
      return undefined;
  }
}
