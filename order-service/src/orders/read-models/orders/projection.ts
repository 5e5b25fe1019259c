import { insertRows, rowsByKey, type Column, type Projection } from '@shop/platform';
import { orderCodec } from '../../order';
import { applyToSummary, type OrderSummary } from './view';

/**
 * Read model `orders`: one row per order plus its status history, in the
 * service's own database, for the list queries. Idempotent: an event at or
 * before the row's `last_position` is skipped, and history rows are keyed by
 * the event's position, so applying an event twice changes nothing.
 */
const ORDER_COLUMNS: readonly Column[] = [
  { name: 'order_id', type: 'uuid' },
  { name: 'customer_id', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'lines', type: 'jsonb' },
  { name: 'priced_lines', type: 'jsonb' },
  { name: 'total', type: 'jsonb' },
  { name: 'payment_status', type: 'text' },
  { name: 'placed_at', type: 'timestamptz' },
  { name: 'updated_at', type: 'timestamptz' },
  { name: 'placed_position', type: 'bigint' },
  { name: 'last_position', type: 'bigint' },
];

const HISTORY_COLUMNS: readonly Column[] = [
  { name: 'order_id', type: 'uuid' },
  { name: 'position', type: 'bigint' },
  { name: 'status', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'at', type: 'timestamptz' },
];

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
  apply: (event, ctx) => ordersProjection.applyBatch!([event], ctx),
  /**
   * A page folded in memory onto the orders it touches (read in one
   * statement), then one upsert of the changed orders and one insert of the
   * status changes.
   */
  async applyBatch(events, ctx) {
    // Decoded once, with the aggregate's codec: a stored event that does not match its schema stops the projection, named.
    const decoded = events.map((recorded) => ({ recorded, event: orderCodec.decode(recorded) }));
    const ids = [...new Set(decoded.map((d) => d.event.orderId))];
    const stored = await rowsByKey<OrderRow>(ctx, 'orders', [ORDER_COLUMNS[0]!], ids.map((id) => [id]), ['*']);
    const rows = new Map(stored.map((r) => [r.order_id, { summary: summaryOf(r), placedPosition: Number(r.placed_position), lastPosition: Number(r.last_position) }]));
    const changed = new Set<string>();
    const history: unknown[][] = [];
    for (const { recorded, event } of decoded) {
      const row = rows.get(event.orderId);
      if (row && row.lastPosition >= recorded.position) continue;
      const { summary, change } = applyToSummary(row?.summary, event);
      if (!summary) continue;
      rows.set(event.orderId, { summary, placedPosition: row?.placedPosition ?? recorded.position, lastPosition: recorded.position });
      changed.add(event.orderId);
      if (change) history.push([event.orderId, recorded.position, change.status, change.reason ?? null, change.at]);
    }
    await insertRows(
      ctx,
      'orders',
      ORDER_COLUMNS,
      [...changed].map((id) => {
        const { summary: o, placedPosition, lastPosition } = rows.get(id)!;
        return [
          o.orderId,
          o.customerId,
          o.status,
          JSON.stringify(o.lines),
          o.pricedLines ? JSON.stringify(o.pricedLines) : null,
          o.total ? JSON.stringify(o.total) : null,
          o.paymentStatus,
          o.placedAt,
          o.updatedAt,
          placedPosition,
          lastPosition,
        ];
      }),
      `on conflict (order_id) do update set ${ORDER_COLUMNS.slice(1)
        .filter((c) => c.name !== 'placed_position')
        .map((c) => `${c.name} = excluded.${c.name}`)
        .join(', ')}`,
    );
    await insertRows(ctx, 'order_status_history', HISTORY_COLUMNS, history, 'on conflict (order_id, position) do nothing');
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
