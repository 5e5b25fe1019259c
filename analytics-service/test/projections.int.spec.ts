import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  ProductAdded,
  StockLevelChanged,
  allMessages,
  defineMessage,
  registry,
  type MessageData,
  type OutgoingMessage,
  type Registry,
} from '@shop/contracts';
import {
  PostgresEventStore,
  ProjectionRunner,
  checksumTables,
  createKnex,
  eventStoreMigrations,
  runMigrations,
  type Projection,
  type RecordedEvent,
} from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import { archiveHandler, readArchived } from '../src/archive/archive';
import { liveOrdersProjection } from '../src/read-models/live-orders/projection';
import { liveOrders } from '../src/read-models/live-orders/query';
import { orderFunnelProjection } from '../src/read-models/order-funnel/projection';
import { funnelSeries } from '../src/read-models/order-funnel/query';
import { productSalesProjection } from '../src/read-models/product-sales/projection';
import { topProducts } from '../src/read-models/product-sales/query';
import { revenueProjection } from '../src/read-models/revenue/projection';
import { revenueSeries } from '../src/read-models/revenue/query';
import { stockLevelsProjection } from '../src/read-models/stock-levels/projection';
import { stockLevels, stockOuts } from '../src/read-models/stock-levels/query';
import { consumed, eur, message } from './support';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

const T0 = '2026-03-02T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

const placed = (orderId: string, seconds = 0) =>
  message(OrderPlaced, { orderId, customerId: 'cust-1', lines: [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }], placedAt: at(seconds) });
const confirmed = (orderId: string, seconds = 10, currency = 'EUR') =>
  message(OrderConfirmed, {
    orderId,
    customerId: 'cust-1',
    lines: [
      { sku: 'SKU-A', quantity: 2, unitPrice: { amount: 1000, currency }, lineTotal: { amount: 2000, currency } },
      { sku: 'SKU-B', quantity: 1, unitPrice: { amount: 500, currency }, lineTotal: { amount: 500, currency } },
    ],
    total: { amount: 2500, currency },
    confirmedAt: at(seconds),
  });
const rejected = (orderId: string, reason: string, seconds = 10) =>
  message(OrderRejected, { orderId, customerId: 'cust-1', reason, rejectedAt: at(seconds) });
const cancelled = (orderId: string, seconds = 70) =>
  message(OrderCancelled, { orderId, customerId: 'cust-1', reason: 'changed my mind', cancelledAt: at(seconds) });
const stock = (sku: string, available: number, cause: MessageData<typeof StockLevelChanged>['cause'], seconds = 0) =>
  message(StockLevelChanged, { sku, onHand: available + 1, reserved: 1, available, sold: 3, received: 10, cause, changedAt: at(seconds) });

describe('projections over the archive', () => {
  let dbConn: TestDb;
  let db: Knex;
  let store: PostgresEventStore;
  let offset = 0;

  beforeAll(async () => {
    dbConn = await createTestDatabase('analytics_projections');
    db = createKnex(dbConn);
    await runMigrations(db, 'event_store', eventStoreMigrations);
    store = new PostgresEventStore({ connection: dbConn });
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
    await dbConn?.drop();
  });

  /** Archives the messages through the archive handler; returns the archived events. */
  async function archive(messages: OutgoingMessage[], reg?: Registry): Promise<RecordedEvent[]> {
    const from = await store.headPosition();
    const handle = archiveHandler(store, reg);
    for (const m of messages) await handle(consumed(m, offset++));
    return (await store.readAll({ fromPosition: from, maxCount: 10_000 })).events;
  }

  /** Fresh tables for the projection (dropped first), as a runner's init creates them. */
  async function freshTables(projection: Projection): Promise<void> {
    for (const table of Object.keys(projection.tables)) await db.raw(`drop table if exists ${table}`);
    await db('projection_checkpoints').where({ projection: projection.name }).delete().catch(() => undefined);
    await new ProjectionRunner(db, store, projection).init();
  }

  async function apply(projection: Projection, events: RecordedEvent[]): Promise<void> {
    await db.transaction(async (trx) => {
      for (const e of events) await projection.apply(e, { trx, table: (t) => t });
    });
  }

  /** Applies every event, then every event again, and checks the second pass changed nothing. */
  async function applyTwice(projection: Projection, events: RecordedEvent[]): Promise<void> {
    await apply(projection, events);
    const before = await checksumTables(db, Object.keys(projection.tables));
    await apply(projection, events);
    await apply(projection, [...events].reverse());
    expect(await checksumTables(db, Object.keys(projection.tables))).toBe(before);
  }

  describe('archive', () => {
    it('archives the original envelope once per message id, in arrival order', async () => {
      const orderId = randomUUID();
      const m = placed(orderId);
      const events = await archive([m, m, m, cancelled(orderId)]);
      expect(events.map((e) => e.type)).toEqual(['order.placed', 'order.cancelled']);
      const [first] = events;
      expect(first!.streamId).toBe(`order-${orderId}`);
      expect(first!.id).toBe(m.headers!.ce_id);
      expect(first!.schemaVersion).toBe(1);
      expect(first!.data).toEqual(JSON.parse(m.value));
      expect(first!.metadata).toMatchObject({
        correlationId: m.headers!.ce_correlationid,
        envelope: { id: m.headers!.ce_id, type: 'order.placed', source: 'order-service', schemaversion: 1, subject: orderId },
        bus: { topic: 'order.events', key: orderId },
      });
    });

    it('maps a non-UUID envelope id to a stable event id', async () => {
      const m = message(ProductAdded, { sku: 'SKU-NU', name: 'n', description: '', category: 'c', price: eur(1), addedAt: T0 }, 'not-a-uuid-1');
      const events = await archive([m, m]);
      expect(events).toHaveLength(1);
      expect(events[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(events[0]!.metadata).toMatchObject({ envelope: { id: 'not-a-uuid-1' } });
    });
  });

  describe('upcasting', () => {
    // A local v2 of order.placed: adds a required `channel`; v1 is upcast with channel 'web'.
    const PlacedV2 = defineMessage({
      ...OrderPlaced,
      version: 2,
      schema: OrderPlaced.schema.extend({ channel: z.enum(['web', 'app']) }),
      previous: [{ version: 1, schema: OrderPlaced.schema, upcast: (d) => ({ ...(d as object), channel: 'web' }) }],
    });
    const v2Registry = registry([...allMessages.filter((d) => d.type !== OrderPlaced.type), PlacedV2]);

    it('archives a v1 event as v1 and hands projections the current version', async () => {
      const orderId = randomUUID();
      const [event] = await archive([placed(orderId)], v2Registry);
      expect(event!.schemaVersion).toBe(1);
      expect(event!.data).not.toHaveProperty('channel');
      expect(readArchived(event!, v2Registry)).toMatchObject({ orderId, channel: 'web' });
      // And a projection built on that registry applies it.
      const projection = liveOrdersProjection(v2Registry);
      await freshTables(projection);
      await apply(projection, [event!]);
      expect((await liveOrders(db, { limit: 10 }))[0]).toMatchObject({ orderId, status: 'pending', units: 3 });
    });

    it('refuses an archived version its contracts do not know', async () => {
      const [event] = await archive([placed(randomUUID())]);
      expect(() => readArchived({ ...event!, metadata: { ...event!.metadata, envelope: { ...(event!.metadata.envelope as object), schemaversion: 7 } } })).toThrow(
        /version 7 is not supported/,
      );
    });
  });

  describe('order funnel', () => {
    it('counts placed, confirmed, rejected by reason and cancelled per minute, once per event', async () => {
      const projection = orderFunnelProjection();
      await freshTables(projection);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const events = await archive([
        placed(a),
        placed(b, 5),
        placed(c, 65),
        confirmed(a, 30),
        rejected(b, 'payment declined', 40),
        rejected(c, 'out of stock', 70),
        cancelled(a, 130),
        // Not funnel events: moved past.
        message(OrderCancellationRequested, { orderId: a, customerId: 'cust-1', requestedAt: at(100) }),
      ]);
      await applyTwice(projection, events);
      const series = await funnelSeries(db, { from: new Date(T0), to: new Date(at(3600)), bucket: 'minute' });
      expect(series).toEqual([
        { at: at(0), placed: 2, confirmed: 1, rejected: 1, rejectedByReason: { 'payment declined': 1 }, cancelled: 0 },
        { at: at(60), placed: 1, confirmed: 0, rejected: 1, rejectedByReason: { 'out of stock': 1 }, cancelled: 0 },
        { at: at(120), placed: 0, confirmed: 0, rejected: 0, rejectedByReason: {}, cancelled: 1 },
      ]);
      const hourly = await funnelSeries(db, { from: new Date(T0), to: new Date(at(3600)), bucket: 'hour' });
      expect(hourly).toEqual([
        { at: T0, placed: 3, confirmed: 1, rejected: 2, rejectedByReason: { 'payment declined': 1, 'out of stock': 1 }, cancelled: 1 },
      ]);
      expect(await funnelSeries(db, { from: new Date(at(60)), to: new Date(at(120)), bucket: 'minute' })).toHaveLength(1);
    });
  });

  describe('revenue', () => {
    it('sums confirmed totals per minute and day by currency, minus cancellations of confirmed orders only', async () => {
      const projection = revenueProjection();
      await freshTables(projection);
      const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const events = await archive([
        confirmed(a, 10),
        confirmed(b, 20),
        confirmed(c, 30, 'USD'),
        cancelled(a, 70),
        // Cancelled while pending: subtracts nothing.
        cancelled(d, 80),
      ]);
      await applyTwice(projection, events);
      const range = { from: new Date(T0), to: new Date(at(86_400)) };
      expect(await revenueSeries(db, { ...range, bucket: 'minute' })).toEqual([
        { at: T0, currency: 'EUR', confirmedAmount: 5000, confirmedOrders: 2, cancelledAmount: 0, cancelledOrders: 0, netAmount: 5000 },
        { at: T0, currency: 'USD', confirmedAmount: 2500, confirmedOrders: 1, cancelledAmount: 0, cancelledOrders: 0, netAmount: 2500 },
        { at: at(60), currency: 'EUR', confirmedAmount: 0, confirmedOrders: 0, cancelledAmount: 2500, cancelledOrders: 1, netAmount: -2500 },
      ]);
      const day = '2026-03-02T00:00:00.000Z';
      expect(await revenueSeries(db, { from: new Date(day), to: new Date(at(86_400)), bucket: 'day' }, 'EUR')).toEqual([
        { at: day, currency: 'EUR', confirmedAmount: 5000, confirmedOrders: 2, cancelledAmount: 2500, cancelledOrders: 1, netAmount: 2500 },
      ]);
    });
  });

  describe('product sales', () => {
    it('ranks products by units and revenue, net of cancelled confirmed orders, with catalog names', async () => {
      const projection = productSalesProjection();
      await freshTables(projection);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const events = await archive([
        message(ProductAdded, { sku: 'SKU-A', name: 'Alpha', description: '', category: 'tools', price: eur(1000), addedAt: T0 }),
        confirmed(a),
        confirmed(b),
        confirmed(c),
        cancelled(c),
        cancelled(randomUUID()),
      ]);
      await applyTwice(projection, events);
      expect(await topProducts(db, { limit: 10, by: 'units' })).toEqual([
        { sku: 'SKU-A', name: 'Alpha', category: 'tools', currency: 'EUR', units: 4, revenue: 4000, orders: 2 },
        { sku: 'SKU-B', name: null, category: null, currency: 'EUR', units: 2, revenue: 1000, orders: 2 },
      ]);
      expect((await topProducts(db, { limit: 1, by: 'revenue' })).map((p) => p.sku)).toEqual(['SKU-A']);
    });
  });

  describe('stock levels', () => {
    it('keeps the latest figures per SKU and records stock-outs, restocks included', async () => {
      const projection = stockLevelsProjection();
      await freshTables(projection);
      const events = await archive([
        stock('SKU-S1', 5, 'received', 0),
        stock('SKU-S1', 0, 'reserved', 10),
        stock('SKU-S1', 0, 'committed', 20),
        stock('SKU-S1', 2, 'restocked', 30),
        stock('SKU-S1', 0, 'reserved', 40),
        stock('SKU-S2', 0, 'adjusted', 0),
      ]);
      await applyTwice(projection, events);
      expect(await stockLevels(db)).toEqual([
        expect.objectContaining({ sku: 'SKU-S1', available: 0, onHand: 1, lastCause: 'reserved', changedAt: at(40), stockOuts: 2, lastStockOutAt: at(40) }),
        expect.objectContaining({ sku: 'SKU-S2', available: 0, lastCause: 'adjusted', stockOuts: 1 }),
      ]);
      // An older event applied after a newer one changes nothing.
      await apply(projection, [events[3]!]);
      expect((await stockLevels(db, { skus: ['SKU-S1'] }))[0]).toMatchObject({ available: 0, lastCause: 'reserved' });
      expect((await stockOuts(db, { sku: 'SKU-S1', limit: 10 })).map((o) => o.cause)).toEqual(['reserved', 'reserved']);
    });
  });

  describe('live orders', () => {
    it('shows the last N orders with their latest status', async () => {
      const projection = liveOrdersProjection();
      await freshTables(projection);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const events = await archive([
        placed(a, 0),
        placed(b, 1),
        placed(c, 2),
        confirmed(a, 10),
        rejected(b, 'out of stock', 11),
        confirmed(c, 12),
        message(OrderCancellationRequested, { orderId: c, customerId: 'cust-1', requestedAt: at(20) }),
        cancelled(a, 30),
      ]);
      await applyTwice(projection, events);
      expect(await liveOrders(db, { limit: 2 })).toEqual([
        expect.objectContaining({ orderId: c, status: 'cancelling', total: eur(2500), placedAt: at(2), updatedAt: at(20) }),
        expect.objectContaining({ orderId: b, status: 'rejected', reason: 'out of stock', total: null }),
      ]);
      expect((await liveOrders(db, { limit: 10, status: 'cancelled' })).map((o) => o.orderId)).toEqual([a]);
    });
  });
});
