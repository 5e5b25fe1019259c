import type { Projection, RecordedEvent } from '@shop/platform';
import type { OrderEvent } from '../../order';
import { applyToSummary, type OrderSummary } from './order-view';

/**
 * Read model `orders`: one row per order plus its status history, in the
 * service's own database, for the list queries. Idempotent: an event at or
 * before the row's `last_position` is skipped, and history rows are keyed by
 * the event's position, so applying an event twice changes nothing.
 */
export const ordersProjection: Projection = {
  name: 'orders',
  filter: { categories: ['order'] },
  // Index names are left to PostgreSQL: a rebuild renames shadow tables to
  // live ones, so an explicit name would collide on the next rebuild.
  tables: {
    orders: (t) => `
      create table ${t} (
        order_id uuid primary key,
        customer_id text not null,
        status text not null,
        lines jsonb not null,
        priced_lines jsonb,
        total jsonb,
        payment_status text not null,
        placed_at timestamptz not null,
        updated_at timestamptz not null,
        placed_position bigint not null,
        last_position bigint not null
      );
      create index on ${t} (customer_id, placed_position desc);
      create index on ${t} (status, placed_position desc);
      create index on ${t} (placed_position desc)`,
    order_status_history: (t) => `
      create table ${t} (
        order_id uuid not null,
        position bigint not null,
        status text not null,
        reason text,
        at timestamptz not null,
        primary key (order_id, position)
      )`,
  },
  async apply(event, { trx, table }) {
    const e = toOrderEvent(event);
    const orders = table('orders');
    const row = (await trx(orders).where({ order_id: e.orderId }).forUpdate().first()) as OrderRow | undefined;
    if (row && Number(row.last_position) >= event.position) return;
    const { summary, change } = applyToSummary(row ? summaryOf(row) : undefined, e);
    if (!summary) return;
    const values = {
      customer_id: summary.customerId,
      status: summary.status,
      lines: JSON.stringify(summary.lines),
      priced_lines: summary.pricedLines ? JSON.stringify(summary.pricedLines) : null,
      total: summary.total ? JSON.stringify(summary.total) : null,
      payment_status: summary.paymentStatus,
      placed_at: summary.placedAt,
      updated_at: summary.updatedAt,
      last_position: event.position,
    };
    if (row) await trx(orders).where({ order_id: e.orderId }).update(values);
    else await trx(orders).insert({ order_id: e.orderId, placed_position: event.position, ...values });
    if (change) {
      await trx(table('order_status_history'))
        .insert({ order_id: e.orderId, position: event.position, status: change.status, reason: change.reason ?? null, at: change.at })
        .onConflict(['order_id', 'position'])
        .ignore();
    }
  },
};

export interface OrderRow {
  order_id: string;
  customer_id: string;
  status: OrderSummary['status'];
  lines: OrderSummary['lines'];
  priced_lines: OrderSummary['pricedLines'];
  total: OrderSummary['total'];
  payment_status: OrderSummary['paymentStatus'];
  placed_at: Date;
  updated_at: Date;
  placed_position: string;
  last_position: string;
}

export interface StatusHistoryRow {
  order_id: string;
  position: string;
  status: OrderSummary['status'];
  reason: string | null;
  at: Date;
}

export function summaryOf(row: OrderRow): OrderSummary {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    lines: row.lines,
    pricedLines: row.priced_lines,
    total: row.total,
    paymentStatus: row.payment_status,
    placedAt: row.placed_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A stored event of an order stream as the domain event it holds. */
export function toOrderEvent(event: RecordedEvent): OrderEvent {
  return { type: event.type, ...(event.data as object) } as OrderEvent;
}
