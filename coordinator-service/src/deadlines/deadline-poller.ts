import type { Knex } from 'knex';
import type { SagaType } from '../sagas/saga';
import type { Sagas } from '../sagas/sagas';

interface DueDeadline {
  deadline_id: string;
  saga_id: string;
  saga_type: SagaType;
  order_id: string;
}

/**
 * Fires due deadlines from `saga_deadlines`. Each instance claims due rows
 * with `FOR UPDATE SKIP LOCKED` in one transaction, feeds each expiry to its
 * saga and marks the row fired in the same transaction: two instances never
 * take the same row, and a crash before the commit leaves it pending for the
 * next poll. The expiry's event ids derive from the deadline id, so a re-run
 * after such a crash appends nothing twice; the saga ignores a deadline of a
 * step it has left or a saga that ended.
 */
export class DeadlinePoller {
  constructor(
    private readonly db: Knex,
    private readonly sagas: Sagas,
    private readonly options: { batchSize?: number } = {},
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
      for (const row of due) {
        await this.sagas.apply(row.saga_type, row.order_id, { type: 'DeadlineExpired', deadlineId: row.deadline_id }, {
          key: `deadline:${row.deadline_id}`,
          metadata: { correlationId: row.saga_id },
        });
        await trx('saga_deadlines').where({ deadline_id: row.deadline_id }).update({ status: 'fired', fired_at: trx.fn.now() });
      }
      return due.length;
    });
  }
}
