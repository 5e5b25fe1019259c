import type { Projection } from '@shop/platform';
import { sagaCodec } from '../../../sagas/saga-state';

/**
 * `saga_deadlines` (a table of the coordinator's own migrations) follows the
 * saga log: a row per `DeadlineScheduled`, pending until the poller fires it
 * or its saga ends (then cancelled). Only the poller marks a row fired, and it
 * holds the row's lock while it does (`SKIP LOCKED` here), so a deadline is
 * cancelled or fired, never both. Applying an event twice changes nothing
 * (inserts of a known deadline are ignored), so replaying the log is safe;
 * the table is not rebuilt from it (whether a deadline fired is the poller's
 * record), which is why it has no shadow tables.
 */
export const sagaDeadlinesProjection: Projection = {
  name: 'saga_deadlines',
  filter: { categories: ['saga'], types: ['DeadlineScheduled', 'SagaEnded'] },
  // For the trace context of `DeadlineScheduled` (its expiry continues the saga's trace).
  readsMetadata: true,
  tables: {},
  apply: (event, ctx) => sagaDeadlinesProjection.applyBatch!([event], ctx),
  async applyBatch(events, { trx }) {
    const scheduled: { deadline_id: string; saga_id: string; saga_type: string; order_id: string; step: string; due_at: string; traceparent: string | null }[] = [];
    const ended = new Set<string>();
    for (const event of events) {
      const e = sagaCodec.decode(event);
      const sagaId = event.streamId.replace(/^saga-/, '');
      if (e.type === 'DeadlineScheduled') {
        const match = /^(place-order|cancel-order)-(.+)$/.exec(sagaId);
        if (!match) continue;
        ended.delete(sagaId);
        const traceparent = typeof event.metadata.traceparent === 'string' ? event.metadata.traceparent : null;
        scheduled.push({ deadline_id: e.deadlineId, saga_id: sagaId, saga_type: match[1]!, order_id: match[2]!, step: e.step, due_at: e.dueAt, traceparent });
      } else if (e.type === 'SagaEnded') {
        ended.add(sagaId);
      }
    }
    if (scheduled.length > 0) {
      await trx('saga_deadlines').insert(scheduled).onConflict('deadline_id').ignore();
    }
    if (ended.size > 0) {
      // SKIP LOCKED: the row the deadline poller is firing right now is its to mark.
      await trx.raw(
        `update saga_deadlines set status = 'cancelled'
         where deadline_id in (select deadline_id from saga_deadlines where saga_id = any(?) and status = 'pending' for update skip locked)`,
        [[...ended]],
      );
    }
  },
};
