import { SagaEnded, contracts, type MessageData, type Registry } from '@shop/contracts';
import type { Projection } from '@shop/platform';
import { readArchived } from '../../archive/archive';
import { insertRows } from '../support';

const COLUMNS = [
  { name: 'saga_id', type: 'text' },
  { name: 'saga_type', type: 'text' },
  { name: 'order_id', type: 'uuid' },
  { name: 'outcome', type: 'text' },
  { name: 'compensations', type: 'int' },
  { name: 'started_at', type: 'timestamptz' },
  { name: 'ended_at', type: 'timestamptz' },
  { name: 'duration_ms', type: 'bigint' },
];

/**
 * Read model `saga_durations`: one row per ended saga (type, outcome, how
 * long it ran, how many compensations it needed), from the coordinator's
 * `saga.ended`. Percentiles are not additive, so the rows are kept and the
 * query computes p50/p95/p99 for whatever bucket it is asked; a minute holds
 * as many rows as sagas ended in it.
 *
 * Idempotent by construction: the saga id is the key and an ended saga's
 * figures never change, so a second application inserts nothing.
 */
export function sagaDurationsProjection(registry: Registry = contracts): Projection {
  const projection: Projection = {
    name: 'saga_durations',
    filter: { categories: ['coordinator'], types: [SagaEnded.type] },
    readsMetadata: false,
    tables: {
      saga_runs: (t) => `
        create table ${t} (
          saga_id text primary key,
          saga_type text not null,
          order_id uuid not null,
          outcome text not null,
          compensations int not null,
          started_at timestamptz not null,
          ended_at timestamptz not null,
          duration_ms bigint not null
        );
        create index on ${t} (ended_at)`,
    },
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events, ctx) {
      const rows = events
        .filter((e) => e.type === SagaEnded.type)
        .map((e) => {
          const d = readArchived<MessageData<typeof SagaEnded>>(e, registry);
          return [d.sagaId, d.sagaType, d.orderId, d.outcome, d.compensations, d.startedAt, d.endedAt, d.durationMs];
        });
      await insertRows(ctx, 'saga_runs', COLUMNS, rows, 'on conflict (saga_id) do nothing');
    },
  };
  return projection;
}
