import type { Knex } from 'knex';
import { ValidationError } from '@shop/platform';
import type { OrderStatus } from '../../order';
import { summaryOf, type OrderRow, type StatusHistoryRow } from './projection';
import type { OrderView } from './view';

export interface ListOrders {
  /** Only this customer's orders (always set for a customer). */
  customerId?: string;
  status?: OrderStatus;
  limit: number;
  /** Opaque: the `nextCursor` of the previous page. */
  cursor?: string;
}

export interface OrderPage {
  items: OrderView[];
  /** Null on the last page. */
  nextCursor: string | null;
}

/**
 * Newest first. Keyset pagination on the position of OrderPlaced in the log:
 * unique and increasing, so pages neither skip nor repeat orders placed
 * while a client is paging.
 */
export async function listOrders(db: Knex, query: ListOrders): Promise<OrderPage> {
  const q = db<OrderRow>('orders').select('*').orderBy('placed_position', 'desc').limit(query.limit + 1);
  if (query.customerId !== undefined) q.where('customer_id', query.customerId);
  if (query.status !== undefined) q.where('status', query.status);
  if (query.cursor !== undefined) q.where('placed_position', '<', decodeCursor(query.cursor));
  const rows = (await q) as OrderRow[];
  const page = rows.slice(0, query.limit);
  const items = await withHistory(db, page);
  const last = page[page.length - 1];
  return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last.placed_position) : null };
}

async function withHistory(db: Knex, rows: OrderRow[]): Promise<OrderView[]> {
  if (rows.length === 0) return [];
  const history = (await db<StatusHistoryRow>('order_status_history')
    .whereIn(
      'order_id',
      rows.map((r) => r.order_id),
    )
    .orderBy('position', 'asc')) as StatusHistoryRow[];
  return rows.map((row) => ({
    ...summaryOf(row),
    statusHistory: history
      .filter((h) => h.order_id === row.order_id)
      .map((h) => ({ status: h.status, at: h.at.toISOString(), ...(h.reason ? { reason: h.reason } : {}) })),
  }));
}

const encodeCursor = (position: string) => Buffer.from(`p:${position}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const match = /^p:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw new ValidationError('invalid cursor', { errors: [{ path: 'query.cursor', message: 'not a cursor this API returned' }] });
  }
  return match[1]!;
}
