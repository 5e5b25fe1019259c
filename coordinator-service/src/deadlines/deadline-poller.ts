import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import {
  ATTR,
  CommitConflictError,
  SpanKind,
  UnitOfWork,
  Work,
  carrierOf,
  context,
  contextOf,
  failSpan,
  startLinkedSpan,
  trace,
  tracingEnabled,
  type EventStore,
  type Span,
  type StreamStateCache,
} from '@shop/platform';
import type { SagaType } from '../sagas/saga-state';
import type { Sagas } from '../sagas/sagas';

interface DueDeadline {
  deadline_id: string;
  saga_id: string;
  saga_type: SagaType;
  order_id: string;
  traceparent: string | null;
}

/**
 * Fires due deadlines from `saga_deadlines`. Each instance claims due rows
 * with `FOR UPDATE SKIP LOCKED` in one transaction, feeds every expiry to its
 * saga in one unit of work, commits it, and marks the rows fired in the
 * claiming transaction: two instances never take the same row, and a crash
 * before that commit leaves them pending for the next poll. An expiry's event
 * ids derive from the deadline id, so firing it again after such a crash
 * appends nothing twice; the saga ignores a deadline of a step it has left
 * or a saga that ended.
 */
export class DeadlinePoller {
  constructor(
    private readonly db: Knex,
    private readonly store: EventStore,
    private readonly sagas: Sagas,
    private readonly options: { batchSize?: number; cache?: StreamStateCache } = {},
  ) {}

  /** Fires the due deadlines this instance could claim; returns how many. */
  async pollOnce(): Promise<number> {
    return this.db.transaction(async (trx) => {
      const due = (await trx('saga_deadlines')
        .where('status', 'pending')
        .andWhere('due_at', '<=', trx.fn.now())
        .orderBy('due_at')
        .limit(this.options.batchSize ?? 50)
        .forUpdate()
        .skipLocked()
        .select('deadline_id', 'saga_id', 'saga_type', 'order_id', 'traceparent')) as DueDeadline[];
      if (due.length === 0) return 0;
      // Each expiry continues the trace of the saga event that scheduled it.
      const spans = tracingEnabled() ? due.map((row) => expirySpan(row)) : undefined;
      try {
        for (let attempt = 1; ; attempt++) {
          const unit = new UnitOfWork(this.store, this.options.cache);
          for (const [i, row] of due.entries()) {
            const span = spans?.[i];
            const active = span ? trace.setSpan(context.active(), span) : undefined;
            const metadata = { correlationId: row.saga_id, ...(active ? carrierOf(active) : {}) };
            const work = new Work(unit, { key: `deadline:${row.deadline_id}`, metadata });
            const fire = () => this.sagas.apply(work, row.saga_type, row.order_id, { type: 'DeadlineExpired', deadlineId: row.deadline_id });
            await (active ? context.with(active, fire) : fire());
          }
          try {
            await unit.commit();
            break;
          } catch (err) {
            if (!(err instanceof CommitConflictError) || attempt >= 10) throw err;
            await sleep(Math.random() * Math.min(100, 2 ** attempt));
          }
        }
      } catch (err) {
        for (const span of spans ?? []) failSpan(span, err);
        throw err;
      } finally {
        for (const span of spans ?? []) span.end();
      }
      await trx('saga_deadlines')
        .whereIn(
          'deadline_id',
          due.map((r) => r.deadline_id),
        )
        .update({ status: 'fired', fired_at: trx.fn.now() });
      return due.length;
    });
  }
}

/** `deadline <saga type>`: a child of the span that scheduled it, linked to it. */
function expirySpan(row: DueDeadline): Span {
  return startLinkedSpan(`deadline ${row.saga_type}`, contextOf({ traceparent: row.traceparent ?? undefined }), {
    kind: SpanKind.INTERNAL,
    attributes: { [ATTR.sagaType]: row.saga_type, [ATTR.sagaId]: row.saga_id, [ATTR.deadlineId]: row.deadline_id },
  });
}
