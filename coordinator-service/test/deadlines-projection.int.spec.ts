import { createKnex, deterministicId } from '@shop/platform';
import { ProjectionSpecification, createTestDatabase } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sagaDeadlinesTable } from '../migrations';
import { sagaDeadlinesProjection } from '../src/deadlines/read-models/deadlines/projection';
import { DEFAULT_DEADLINES } from '../src/sagas/steps';
import { FOUR_ORDERS, T0, fourSagas } from './support';

describe('saga deadlines projection', () => {
  let dbConn: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;
  beforeAll(async () => {
    dbConn = await createTestDatabase('coordinator_deadlines');
    db = createKnex(dbConn);
  });
  afterAll(async () => {
    await db?.destroy();
    await dbConn?.drop();
  });

  const { pricingMs, reservationMs, paymentMs, confirmationMs, compensationMs } = DEFAULT_DEADLINES;
  /** The deadline of a send, decided `minute` minutes after T0, due `ms` later. */
  const deadline = (sagaId: string, step: string, send: number, minute: number, ms: number, status: 'pending' | 'cancelled') => {
    const [, type, orderId] = /^(place-order|cancel-order)-(.+)$/.exec(sagaId)!;
    return {
      deadline_id: deterministicId(sagaId, 'deadline', step, 1, send),
      saga_id: sagaId,
      saga_type: type,
      order_id: orderId,
      step,
      due_at: new Date(T0 + minute * 60_000 + ms),
      status,
      fired_at: null,
      traceparent: null as string | null,
    };
  };
  const byId = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => (String(a.deadline_id) < String(b.deadline_id) ? -1 : 1));

  it('comes out the same in one page, in pages, and with every page and event twice: a row per deadline, cancelled when its saga ends', async () => {
    const rows = await ProjectionSpecification.for(sagaDeadlinesProjection, { db, ignoreColumns: ['created_at'], tablesOwnedElsewhere: { saga_deadlines: sagaDeadlinesTable } }).given(fourSagas).rows();
    const [completed, compensating, failed, rejected] = [
      `place-order-${FOUR_ORDERS[0]}`,
      `place-order-${FOUR_ORDERS[1]}`,
      `cancel-order-${FOUR_ORDERS[2]}`,
      `place-order-${FOUR_ORDERS[3]}`,
    ];
    expect(byId(rows.saga_deadlines!)).toEqual(
      byId([
        // Ended: every deadline it scheduled is cancelled.
        deadline(completed, 'pricing', 1, 0, pricingMs, 'cancelled'),
        deadline(completed, 'reserving', 1, 1, reservationMs, 'cancelled'),
        deadline(completed, 'authorizing', 1, 2, paymentMs, 'cancelled'),
        deadline(completed, 'confirming', 1, 3, confirmationMs, 'cancelled'),
        deadline(completed, 'committing', 1, 4, compensationMs, 'cancelled'),
        // Still running: only the poller marks a deadline fired.
        deadline(compensating, 'pricing', 1, 0, pricingMs, 'pending'),
        deadline(compensating, 'reserving', 1, 1, reservationMs, 'pending'),
        deadline(compensating, 'releasing', 1, 2, compensationMs, 'pending'),
        // Re-sends with doubled deadlines, then failed (not ended).
        deadline(failed, 'voiding', 1, 0, compensationMs, 'pending'),
        deadline(failed, 'voiding', 2, 1, 2 * compensationMs, 'pending'),
        deadline(failed, 'voiding', 3, 2, 4 * compensationMs, 'pending'),
        deadline(failed, 'voiding', 4, 3, 8 * compensationMs, 'pending'),
        deadline(rejected, 'pricing', 1, 0, pricingMs, 'cancelled'),
        deadline(rejected, 'rejecting', 1, 1, compensationMs, 'cancelled'),
      ]),
    );
  });

  it("keeps the trace context the scheduling event was stored with, so the expiry continues the saga's trace", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const [completed] = [`place-order-${FOUR_ORDERS[0]}`];
    const scheduled = fourSagas.filter((e) => e.streamId === `saga-${completed}` && e.type === 'DeadlineScheduled').slice(0, 1);
    const rows = await ProjectionSpecification.for(sagaDeadlinesProjection, { db, ignoreColumns: ['created_at'], tablesOwnedElsewhere: { saga_deadlines: sagaDeadlinesTable } })
      .given(scheduled.map((e) => ({ ...e, metadata: { correlationId: completed, traceparent } })))
      .rows();
    expect(rows.saga_deadlines).toEqual([{ ...deadline(completed, 'pricing', 1, 0, pricingMs, 'pending'), traceparent }]);
  });
});
