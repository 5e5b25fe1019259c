import { createKnex } from '@shop/platform';
import { ProjectionSpecification, createTestDatabase } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sagaListProjection } from '../src/sagas/read-models/saga-list/projection';
import { DEFAULT_DEADLINES } from '../src/sagas/steps';
import { FOUR_ORDERS, T0, fourSagas } from './support';

const minutes = (n: number, ms = 0) => new Date(T0 + n * 60_000 + ms);
const [completed, compensating, failed, rejected] = FOUR_ORDERS;

describe('saga list projection', () => {
  let dbConn: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;
  beforeAll(async () => {
    dbConn = await createTestDatabase('coordinator_saga_list');
    db = createKnex(dbConn);
  });
  afterAll(async () => {
    await db?.destroy();
    await dbConn?.drop();
  });

  /** Positions of the saga's first and last events in the log, and the time its last one was recorded. */
  const positions = (sagaId: string) => {
    const mine = fourSagas.flatMap((e, i) => (e.streamId === `saga-${sagaId}` ? [i + 1] : []));
    const last = mine.at(-1)!;
    return { started_position: String(mine[0]!), last_position: String(last), updated_at: new Date(T0 + (last - 1) * 1_000) };
  };

  it('comes out the same in one page, in pages, and with every page and event twice: one row per saga', async () => {
    const rows = await ProjectionSpecification.for(sagaListProjection, { db }).given(fourSagas).rows();
    const row = (id: string) => rows.sagas!.find((r) => r.saga_id === id);
    expect(rows.sagas).toHaveLength(4);
    expect(row(`place-order-${completed}`)).toEqual({
      saga_id: `place-order-${completed}`,
      saga_type: 'place-order',
      order_id: completed,
      status: 'completed',
      step: 'committing',
      reason: null,
      deadline_due_at: null,
      started_at: minutes(0),
      ended_at: minutes(5),
      ...positions(`place-order-${completed}`),
    });
    expect(row(`place-order-${compensating}`)).toEqual({
      saga_id: `place-order-${compensating}`,
      saga_type: 'place-order',
      order_id: compensating,
      status: 'compensating',
      step: 'releasing',
      reason: null,
      deadline_due_at: minutes(2, DEFAULT_DEADLINES.compensationMs),
      started_at: minutes(0),
      ended_at: null,
      ...positions(`place-order-${compensating}`),
    });
    expect(row(`cancel-order-${failed}`)).toEqual({
      saga_id: `cancel-order-${failed}`,
      saga_type: 'cancel-order',
      order_id: failed,
      status: 'failed',
      step: 'voiding',
      reason: 'no answer to order.void-payment after 4 attempts',
      deadline_due_at: null,
      started_at: minutes(0),
      ended_at: null,
      ...positions(`cancel-order-${failed}`),
    });
    expect(row(`place-order-${rejected}`)).toEqual({
      saga_id: `place-order-${rejected}`,
      saga_type: 'place-order',
      order_id: rejected,
      status: 'rejected',
      step: 'rejecting',
      reason: 'unknown product SKU-9',
      deadline_due_at: null,
      started_at: minutes(0),
      ended_at: minutes(2),
      ...positions(`place-order-${rejected}`),
    });
  });
});
