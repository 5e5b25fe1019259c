import { insertRows, rowsByKey, type Column, type Projection } from '@shop/platform';
import { sagaCodec } from '../../saga-state';

interface SagaRow {
  saga_id: string;
  saga_type: string;
  order_id: string;
  status: string;
  step: string | null;
  reason: string | null;
  deadline_due_at: string | null;
  started_at: string;
  updated_at: string;
  ended_at: string | null;
  started_position: number;
  last_position: number;
}

const COLUMNS: readonly (Column & { name: keyof SagaRow })[] = [
  { name: 'saga_id', type: 'text' },
  { name: 'saga_type', type: 'text' },
  { name: 'order_id', type: 'uuid' },
  { name: 'status', type: 'text' },
  { name: 'step', type: 'text' },
  { name: 'reason', type: 'text' },
  { name: 'deadline_due_at', type: 'timestamptz' },
  { name: 'started_at', type: 'timestamptz' },
  { name: 'updated_at', type: 'timestamptz' },
  { name: 'ended_at', type: 'timestamptz' },
  { name: 'started_position', type: 'bigint' },
  { name: 'last_position', type: 'bigint' },
];

/** A row as Postgres returns it (timestamps as dates, bigints as strings). */
type StoredRow = Omit<SagaRow, 'deadline_due_at' | 'started_at' | 'updated_at' | 'ended_at' | 'started_position' | 'last_position'> & {
  deadline_due_at: Date | string | null;
  started_at: Date | string;
  updated_at: Date | string;
  ended_at: Date | string | null;
  started_position: number | string;
  last_position: number | string;
};

const iso = (v: Date | string | null): string | null => (v === null ? null : v instanceof Date ? v.toISOString() : v);

/**
 * Read model `sagas`: one row per saga instance (type, order, status, step,
 * pending deadline, times) for the list and stuck queries. A page is folded
 * in memory onto the rows it touches (read in one statement) and written back
 * in one upsert. Idempotent: an event at or before a row's `last_position`
 * is skipped.
 */
export const sagaListProjection: Projection = {
  name: 'saga_list',
  filter: { categories: ['saga'] },
  readsMetadata: false,
  tables: {
    sagas: (t) => `
      create table ${t} (
        saga_id text primary key,
        saga_type text not null,
        order_id uuid not null,
        status text not null,
        step text,
        reason text,
        deadline_due_at timestamptz,
        started_at timestamptz not null,
        updated_at timestamptz not null,
        ended_at timestamptz,
        started_position bigint not null,
        last_position bigint not null
      );
      create index on ${t} (status, started_at);
      create index on ${t} (saga_type, started_position desc);
      create index on ${t} (started_position desc)`,
  },
  apply: (event, ctx) => sagaListProjection.applyBatch!([event], ctx),
  async applyBatch(events, ctx) {
    const ids = [...new Set(events.map((e) => e.streamId.replace(/^saga-/, '')))];
    const stored = await rowsByKey<StoredRow>(ctx, 'sagas', [COLUMNS[0]!], ids.map((id) => [id]), COLUMNS.map((c) => c.name));
    const rows = new Map<string, SagaRow>(
      stored.map((r) => [
        r.saga_id,
        {
          ...r,
          deadline_due_at: iso(r.deadline_due_at),
          started_at: iso(r.started_at)!,
          updated_at: iso(r.updated_at)!,
          ended_at: iso(r.ended_at),
          started_position: Number(r.started_position),
          last_position: Number(r.last_position),
        },
      ]),
    );
    const changed = new Set<string>();
    for (const event of events) {
      const id = event.streamId.replace(/^saga-/, '');
      const row = rows.get(id);
      if (row && row.last_position >= event.position) continue;
      const e = sagaCodec.decode(event);
      const at = event.recordedAt.toISOString();
      if (e.type === 'SagaStarted') {
        if (row) continue;
        rows.set(id, {
          saga_id: id,
          saga_type: e.sagaType,
          order_id: e.orderId,
          status: 'running',
          step: null,
          reason: null,
          deadline_due_at: null,
          started_at: e.startedAt,
          updated_at: at,
          ended_at: null,
          started_position: event.position,
          last_position: event.position,
        });
        changed.add(id);
        continue;
      }
      if (!row) continue;
      const next: SagaRow = { ...row, updated_at: at, last_position: event.position };
      switch (e.type) {
        case 'StepEntered':
          Object.assign(next, { step: e.step, status: e.phase === 'forward' ? 'running' : 'compensating', deadline_due_at: null });
          break;
        case 'DeadlineScheduled':
          next.deadline_due_at = e.dueAt;
          break;
        case 'SagaFailed':
          Object.assign(next, { status: 'failed', reason: e.reason, deadline_due_at: null });
          break;
        case 'SagaEnded':
          Object.assign(next, { status: e.status, reason: e.reason ?? null, deadline_due_at: null, ended_at: e.endedAt });
          break;
        default:
          break;
      }
      rows.set(id, next);
      changed.add(id);
    }
    await insertRows(
      ctx,
      'sagas',
      COLUMNS,
      [...changed].map((id) => COLUMNS.map((c) => rows.get(id)![c.name])),
      `on conflict (saga_id) do update set ${COLUMNS.slice(1)
        .map((c) => `${c.name} = excluded.${c.name}`)
        .join(', ')}`,
    );
  },
};
