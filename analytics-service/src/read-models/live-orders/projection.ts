import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  contracts,
  type MessageData,
  type Registry,
} from '@shop/contracts';
import type { Projection, RecordedEvent } from '@shop/platform';
import { readArchived } from '../../archive/archive';

export const LIVE_ORDER_STATUSES = ['pending', 'confirmed', 'rejected', 'cancelling', 'cancelled'] as const;
export type LiveOrderStatus = (typeof LIVE_ORDER_STATUSES)[number];

interface Change {
  orderId: string;
  status: LiveOrderStatus;
  at: string;
  placed?: { customerId: string; units: number; lines: number };
  total?: { amount: number; currency: string };
  reason?: string;
}

/**
 * Read model `live_orders`: one row per order with its latest status, for the
 * "last N orders" table. Idempotent: a row only moves forward in archive
 * position.
 */
export function liveOrdersProjection(registry: Registry = contracts): Projection {
  return {
    name: 'live_orders',
    filter: { categories: ['order'] },
    tables: {
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
          last_position bigint not null
        );
        create index on ${t} (placed_at desc nulls last)`,
    },
    async apply(event, { trx, table }) {
      const change = changeOf(event, registry);
      if (!change) return;
      const t = table('live_orders');
      const row = (await trx(t).where({ order_id: change.orderId }).forUpdate().first('last_position')) as
        | { last_position: string }
        | undefined;
      if (row && Number(row.last_position) >= event.position) return;
      const values: Record<string, unknown> = { status: change.status, updated_at: change.at, last_position: event.position };
      if (change.placed) {
        Object.assign(values, {
          customer_id: change.placed.customerId,
          line_count: change.placed.lines,
          units: change.placed.units,
          placed_at: change.at,
        });
      }
      if (change.total) Object.assign(values, { total_amount: change.total.amount, currency: change.total.currency });
      if (change.reason !== undefined) values.reason = change.reason;
      if (row) await trx(t).where({ order_id: change.orderId }).update(values);
      else await trx(t).insert({ order_id: change.orderId, ...values });
    },
  };
}

function changeOf(event: RecordedEvent, registry: Registry): Change | undefined {
  switch (event.type) {
    case OrderPlaced.type: {
      const d = readArchived<MessageData<typeof OrderPlaced>>(event, registry);
      const units = d.lines.reduce((sum, l) => sum + l.quantity, 0);
      return { orderId: d.orderId, status: 'pending', at: d.placedAt, placed: { customerId: d.customerId, units, lines: d.lines.length } };
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
