import type { Projection } from '@shop/platform';
import type { SagaEvent } from '../../saga';

/**
 * Read model `sagas`: one row per saga instance (type, order, status, step,
 * pending deadline, times) for the list and stuck queries. Idempotent: an
 * event at or before the row's `last_position` is skipped.
 */
export const sagaListProjection: Projection = {
  name: 'saga_list',
  filter: { categories: ['saga'] },
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
  async apply(event, { trx, table }) {
    const sagas = table('sagas');
    const id = event.streamId.replace(/^saga-/, '');
    const e = { type: event.type, ...(event.data as object) } as SagaEvent;
    const row = (await trx(sagas).where({ saga_id: id }).forUpdate().first('last_position')) as { last_position: string } | undefined;
    if (row && Number(row.last_position) >= event.position) return;
    const at = event.recordedAt;
    if (e.type === 'SagaStarted') {
      if (row) return;
      await trx(sagas).insert({
        saga_id: id,
        saga_type: e.sagaType,
        order_id: e.orderId,
        status: 'running',
        started_at: e.startedAt,
        updated_at: at,
        started_position: event.position,
        last_position: event.position,
      });
      return;
    }
    if (!row) return;
    const changes: Record<string, unknown> = { updated_at: at, last_position: event.position };
    switch (e.type) {
      case 'StepEntered':
        Object.assign(changes, { step: e.step, status: e.phase === 'forward' ? 'running' : 'compensating', deadline_due_at: null });
        break;
      case 'DeadlineScheduled':
        changes.deadline_due_at = e.dueAt;
        break;
      case 'SagaFailed':
        Object.assign(changes, { status: 'failed', reason: e.reason, deadline_due_at: null });
        break;
      case 'SagaEnded':
        Object.assign(changes, { status: e.status, reason: e.reason ?? null, deadline_due_at: null, ended_at: e.endedAt });
        break;
      default:
        break;
    }
    await trx(sagas).where({ saga_id: id }).update(changes);
  },
};
