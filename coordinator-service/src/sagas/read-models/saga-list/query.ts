import type { Knex } from 'knex';
import { ValidationError } from '@shop/platform';

export interface SagaSummary {
  id: string;
  type: string;
  orderId: string;
  status: string;
  step: string | null;
  reason: string | null;
  pendingDeadline: string | null;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
}

interface SagaRow {
  saga_id: string;
  saga_type: string;
  order_id: string;
  status: string;
  step: string | null;
  reason: string | null;
  deadline_due_at: Date | null;
  started_at: Date;
  updated_at: Date;
  ended_at: Date | null;
  started_position: string;
}

export interface ListSagas {
  status?: string;
  type?: string;
  /** Only sagas started more than this many milliseconds before `now`. */
  olderThanMs?: number;
  limit: number;
  cursor?: string;
  now: Date;
}

export interface SagaPage {
  items: SagaSummary[];
  nextCursor: string | null;
}

const ENDED = ['completed', 'rejected', 'cancelled'];

/** Newest first, keyset-paginated on the position of SagaStarted (unique, increasing). */
export async function listSagas(db: Knex, query: ListSagas): Promise<SagaPage> {
  const q = db<SagaRow>('sagas').select('*').orderBy('started_position', 'desc').limit(query.limit + 1);
  if (query.status !== undefined) q.where('status', query.status);
  if (query.type !== undefined) q.where('saga_type', query.type);
  if (query.olderThanMs !== undefined) q.where('started_at', '<', new Date(query.now.getTime() - query.olderThanMs));
  if (query.cursor !== undefined) q.where('started_position', '<', decodeCursor(query.cursor));
  return page(await q, query.limit);
}

/** Stuck: failed, or not ended `stuckAfterMs` after it started. */
export async function listStuckSagas(db: Knex, query: { stuckAfterMs: number; limit: number; cursor?: string; now: Date }): Promise<SagaPage> {
  const cutoff = new Date(query.now.getTime() - query.stuckAfterMs);
  const q = db<SagaRow>('sagas')
    .select('*')
    .where((w) => w.where('status', 'failed').orWhere((o) => o.whereNotIn('status', ENDED).andWhere('started_at', '<', cutoff)))
    .orderBy('started_position', 'desc')
    .limit(query.limit + 1);
  if (query.cursor !== undefined) q.where('started_position', '<', decodeCursor(query.cursor));
  return page(await q, query.limit);
}

/** How many sagas `listStuckSagas` would list, by saga type. */
export async function countStuckSagas(db: Knex, query: { stuckAfterMs: number; now: Date }): Promise<Map<string, number>> {
  const cutoff = new Date(query.now.getTime() - query.stuckAfterMs);
  const rows = (await db<SagaRow>('sagas')
    .where((w) => w.where('status', 'failed').orWhere((o) => o.whereNotIn('status', ENDED).andWhere('started_at', '<', cutoff)))
    .groupBy('saga_type')
    .select('saga_type')
    .count({ n: '*' })) as unknown as { saga_type: string; n: string | number }[];
  return new Map(rows.map((r) => [r.saga_type, Number(r.n)]));
}

function page(rows: SagaRow[], limit: number): SagaPage {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(summaryOf), nextCursor: rows.length > limit && last ? encodeCursor(last.started_position) : null };
}

function summaryOf(row: SagaRow): SagaSummary {
  return {
    id: row.saga_id,
    type: row.saga_type,
    orderId: row.order_id,
    status: row.status,
    step: row.step,
    reason: row.reason,
    pendingDeadline: row.deadline_due_at ? row.deadline_due_at.toISOString() : null,
    startedAt: row.started_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    endedAt: row.ended_at ? row.ended_at.toISOString() : null,
  };
}

const encodeCursor = (position: string) => Buffer.from(`p:${position}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const match = /^p:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw new ValidationError('invalid cursor', { errors: [{ path: 'query.cursor', message: 'not a cursor this API returned' }] });
  }
  return match[1]!;
}
