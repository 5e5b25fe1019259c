import type { Knex } from 'knex';
import { sagaMetrics, type CommittedEvent } from '@shop/platform';
import { countStuckSagas } from './read-models/saga-list/query';
import type { SagaEvent, SagaType } from './saga-state';

const SAGA_STREAM = /^saga-(place-order|cancel-order)-/;
const SAGA_TYPES: readonly SagaType[] = ['place-order', 'cancel-order'];

/**
 * The saga counters, from the saga events as they are committed (so a page
 * run again after a conflict counts nothing twice): started; ended by status,
 * with completed and compensated (ended after undoing steps) on their own;
 * failed; and the duration from start to end.
 */
export function countSagaEvents(events: readonly CommittedEvent[]): void {
  for (const event of events) {
    const match = SAGA_STREAM.exec(event.streamId);
    if (!match) continue;
    const sagaType = match[1]!;
    const e = { type: event.type, ...(event.data as object) } as SagaEvent;
    if (e.type === 'SagaStarted') sagaMetrics.started.inc({ saga_type: sagaType });
    else if (e.type === 'SagaFailed') sagaMetrics.failed.inc({ saga_type: sagaType });
    else if (e.type === 'SagaEnded') {
      sagaMetrics.ended.inc({ saga_type: sagaType, status: e.status });
      if (e.status === 'completed') sagaMetrics.completed.inc({ saga_type: sagaType });
      if ((e.compensations ?? 0) > 0) sagaMetrics.compensated.inc({ saga_type: sagaType });
      if (e.startedAt) {
        const seconds = (Date.parse(e.endedAt) - Date.parse(e.startedAt)) / 1_000;
        if (Number.isFinite(seconds) && seconds >= 0) sagaMetrics.duration.observe({ saga_type: sagaType, status: e.status }, seconds);
      }
    }
  }
}

/** The stuck-saga gauge: read from the saga list at scrape time (0 for a type with none). */
export function stuckSagasSource(db: Knex, options: { stuckAfterMs: number; now: () => Date }) {
  return async () => {
    const counts = await countStuckSagas(db, { stuckAfterMs: options.stuckAfterMs, now: options.now() });
    return SAGA_TYPES.map((t) => ({ labels: { saga_type: t }, value: counts.get(t) ?? 0 }));
  };
}
