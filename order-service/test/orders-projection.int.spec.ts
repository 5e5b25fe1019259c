import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PostgresEventStore,
  ProjectionRunner,
  checksumTables,
  createKnex,
  eventStoreMigrations,
  runMigrations,
  type RecordedEvent,
} from '@shop/platform';
import { ProjectionSpecification, createTestDatabase, type GivenEvent } from '@shop/platform/testing';
import { orderStreamId, type OrderEvent } from '../src/orders/order';
import { ordersProjection } from '../src/orders/read-models/orders/projection';
import { listOrders } from '../src/orders/read-models/orders/query';

const at = (minute: number) => `2025-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

function lifeOf(orderId: string, customerId: string): OrderEvent[] {
  const total = { amount: 700, currency: 'EUR' };
  return [
    { type: 'OrderPlaced', orderId, customerId, lines: [{ sku: 'SKU-7', quantity: 1 }], paymentToken: 'tok_approve', channel: 'web', placedAt: at(0) },
    { type: 'PaymentAuthorized', orderId, authorizationId: 'auth-7', amount: total, authorizedAt: at(1) },
    {
      type: 'OrderConfirmed',
      orderId,
      customerId,
      lines: [{ sku: 'SKU-7', quantity: 1, unitPrice: total, lineTotal: total }],
      total,
      confirmedAt: at(2),
    },
    { type: 'OrderCancellationRequested', orderId, customerId, requestedBy: customerId, reason: 'gift not needed', requestedAt: at(3) },
    { type: 'PaymentVoided', orderId, authorizationId: 'auth-7', voidedAt: at(4) },
    { type: 'OrderCancelled', orderId, customerId, reason: 'customer asked', cancelledAt: at(5) },
  ];
}

describe('orders read model', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    db = await createTestDatabase('order_projection');
    knex = createKnex(db);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    store = new PostgresEventStore({ connection: db });
    runner = new ProjectionRunner(knex, store, ordersProjection);
    await runner.init();
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const append = async (events: OrderEvent[]): Promise<RecordedEvent[]> => {
    const orderId = events[0]!.orderId;
    await store.append(
      `order-${orderId}`,
      events.map(({ type, ...data }) => ({ type, data })),
    );
    return store.readStream(`order-${orderId}`);
  };
  const applyAll = (events: RecordedEvent[]) =>
    knex.transaction(async (trx) => {
      for (const e of events) await ordersProjection.apply(e, { trx, table: (name) => name });
    });
  const snapshot = async (orderId: string) => ({
    order: await knex('orders').where({ order_id: orderId }).first(),
    history: await knex('order_status_history').where({ order_id: orderId }).orderBy('position'),
  });

  it('changes nothing when the same events are applied twice', async () => {
    const orderId = randomUUID();
    const recorded = await append(lifeOf(orderId, 'customer-fay'));
    await applyAll(recorded);
    const once = await snapshot(orderId);
    await applyAll(recorded);
    await applyAll([recorded[2]!, recorded[0]!]);
    expect(await snapshot(orderId)).toEqual(once);
    expect(once.order).toMatchObject({ status: 'cancelled', payment_status: 'voided', total: { amount: 700, currency: 'EUR' } });
    expect(once.history.map((h: { status: string; reason: string | null }) => [h.status, h.reason])).toEqual([
      ['pending', null],
      ['confirmed', null],
      ['cancellation-requested', 'gift not needed'],
      ['cancelled', 'customer asked'],
    ]);
  });

  it('follows the log, and a rebuild (twice) gives the same tables', async () => {
    const customerId = `customer-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await append(lifeOf(id, customerId).slice(0, 2));
    await runner.start();
    const head = await store.headPosition();
    await expect.poll(async () => (await runner.status()).position, { timeout: 10_000 }).toBeGreaterThanOrEqual(head);
    const page = await listOrders(knex, { customerId, limit: 10 });
    expect(page.items.map((o) => [o.orderId, o.status, o.paymentStatus])).toEqual([
      [ids[1], 'pending', 'authorized'],
      [ids[0], 'pending', 'authorized'],
    ]);
    const live = await checksumTables(knex, ['orders', 'order_status_history']);
    expect((await runner.rebuild()).checksum).toBe(live);
    expect((await runner.rebuild()).checksum).toBe(live);
  });
});

describe('orders read model, applied once, twice and in pages (ProjectionSpecification)', () => {
  let dbConn: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;

  beforeAll(async () => {
    dbConn = await createTestDatabase('order_projection_spec');
    db = createKnex(dbConn);
  });
  afterAll(async () => {
    await db?.destroy();
    await dbConn?.drop();
  });

  const confirmedId = '0a1b2c3d-0000-4000-8000-000000000001';
  const rejectedId = '0a1b2c3d-0000-4000-8000-000000000002';
  const cancelledId = '0a1b2c3d-0000-4000-8000-000000000003';
  const eur = (amount: number) => ({ amount, currency: 'EUR' });
  const lines = [
    { sku: 'SKU-1', quantity: 2 },
    { sku: 'SKU-2', quantity: 1 },
  ];
  const pricedLines = [
    { sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) },
    { sku: 'SKU-2', quantity: 1, unitPrice: eur(500), lineTotal: eur(500) },
  ];
  const total = eur(2500);
  const stored = ({ type, ...data }: OrderEvent): GivenEvent => ({ streamId: orderStreamId(data.orderId), type, data });

  // Three orders, interleaved in the log (positions 1..11): one placed, authorized and
  // confirmed at its prices; one declined and rejected; one whose provider never
  // answered, cancelled on request (its payment voided without an authorization).
  const events: OrderEvent[] = [
    { type: 'OrderPlaced', orderId: confirmedId, customerId: 'customer-ann', lines, paymentToken: 'tok_approve', channel: 'web', placedAt: at(0) },
    { type: 'OrderPlaced', orderId: rejectedId, customerId: 'customer-bob', lines, paymentToken: 'tok_decline', channel: 'web', placedAt: at(1) },
    { type: 'PaymentAuthorized', orderId: confirmedId, authorizationId: 'auth-1', amount: total, authorizedAt: at(2) },
    { type: 'OrderPlaced', orderId: cancelledId, customerId: 'customer-ann', lines, paymentToken: 'tok_no_answer', channel: 'web', placedAt: at(3) },
    { type: 'PaymentDeclined', orderId: rejectedId, reason: 'card declined', declinedAt: at(4) },
    { type: 'OrderConfirmed', orderId: confirmedId, customerId: 'customer-ann', lines: pricedLines, total, confirmedAt: at(5) },
    { type: 'OrderRejected', orderId: rejectedId, customerId: 'customer-bob', reason: 'payment declined', rejectedAt: at(6) },
    { type: 'PaymentAuthorizationTimedOut', orderId: cancelledId, at: at(7) },
    {
      type: 'OrderCancellationRequested',
      orderId: cancelledId,
      customerId: 'customer-ann',
      requestedBy: 'customer-ann',
      reason: 'changed my mind',
      requestedAt: at(8),
    },
    { type: 'PaymentVoided', orderId: cancelledId, voidedAt: at(9) },
    { type: 'OrderCancelled', orderId: cancelledId, customerId: 'customer-ann', reason: 'customer asked', cancelledAt: at(10) },
  ];

  it('gives the same orders and status history however the events are paged or redelivered', async () => {
    const rows = await ProjectionSpecification.for(ordersProjection, { db }).given(events.map(stored)).rows();

    expect(rows.orders).toEqual([
      {
        order_id: confirmedId,
        customer_id: 'customer-ann',
        status: 'confirmed',
        lines,
        priced_lines: pricedLines,
        total,
        payment_status: 'authorized',
        placed_at: new Date(at(0)),
        updated_at: new Date(at(5)),
        placed_position: '1',
        last_position: '6',
      },
      {
        order_id: rejectedId,
        customer_id: 'customer-bob',
        status: 'rejected',
        lines,
        priced_lines: null,
        total: null,
        payment_status: 'declined',
        placed_at: new Date(at(1)),
        updated_at: new Date(at(6)),
        placed_position: '2',
        last_position: '7',
      },
      {
        order_id: cancelledId,
        customer_id: 'customer-ann',
        status: 'cancelled',
        lines,
        priced_lines: null,
        total: null,
        payment_status: 'voided',
        placed_at: new Date(at(3)),
        updated_at: new Date(at(10)),
        placed_position: '4',
        last_position: '11',
      },
    ]);

    const history = [...rows.order_status_history!].sort(
      (a, b) => String(a.order_id).localeCompare(String(b.order_id)) || Number(a.position) - Number(b.position),
    );
    expect(history).toEqual([
      { order_id: confirmedId, position: '1', status: 'pending', reason: null, at: new Date(at(0)) },
      { order_id: confirmedId, position: '6', status: 'confirmed', reason: null, at: new Date(at(5)) },
      { order_id: rejectedId, position: '2', status: 'pending', reason: null, at: new Date(at(1)) },
      { order_id: rejectedId, position: '7', status: 'rejected', reason: 'payment declined', at: new Date(at(6)) },
      { order_id: cancelledId, position: '4', status: 'pending', reason: null, at: new Date(at(3)) },
      { order_id: cancelledId, position: '9', status: 'cancellation-requested', reason: 'changed my mind', at: new Date(at(8)) },
      { order_id: cancelledId, position: '11', status: 'cancelled', reason: 'customer asked', at: new Date(at(10)) },
    ]);
  });
});
