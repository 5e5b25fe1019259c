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
import { createTestDatabase } from '@shop/platform/testing';
import type { OrderEvent } from '../src/orders/order';
import { listOrders } from '../src/orders/read-models/orders/orders-query';
import { ordersProjection } from '../src/orders/read-models/orders/orders-projection';

const at = (minute: number) => `2025-03-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

function lifeOf(orderId: string, customerId: string): OrderEvent[] {
  const total = { amount: 700, currency: 'EUR' };
  return [
    { type: 'OrderPlaced', orderId, customerId, lines: [{ sku: 'SKU-7', quantity: 1 }], paymentToken: 'tok_approve', placedAt: at(0) },
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
