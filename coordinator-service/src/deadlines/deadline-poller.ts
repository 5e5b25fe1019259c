import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { CommitConflictError, UnitOfWork, Work, type EventStore, type StreamStateCache } from '@shop/platform';
import type { SagaType } from '../sagas/saga-state';
import type { Sagas } from '../sagas/sagas';

interface DueDeadline {
  deadline_id: string;
  saga_id: string;
  saga_type: SagaType;
  order_id: string;
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
        .select('deadline_id', 'saga_id', 'saga_type', 'order_id')) as DueDeadline[];
      if (due.length === 0) return 0;
      for (let attempt = 1; ; attempt++) {
        const unit = new UnitOfWork(this.store, this.options.cache);
        for (const row of due) {
          const work = new Work(unit, { key: `deadline:${row.deadline_id}`, metadata: { correlationId: row.saga_id } });
          await this.sagas.apply(work, row.saga_type, row.order_id, { type: 'DeadlineExpired', deadlineId: row.deadline_id });
        }
        try {
          await unit.commit();
          break;
        } catch (err) {
          if (!(err instanceof CommitConflictError) || attempt >= 10) throw err;
          await sleep(Math.random() * Math.min(100, 2 ** attempt));
        }
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
