import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderCancellationRequested, ProductAdded, type Registry } from '@shop/contracts';
import {
  PostgresEventStore,
  ProjectionRunner,
  applyEvents,
  checksumTables,
  createKnex,
  eventStoreMigrations,
  runMigrations,
  type OutgoingMessage,
  type Projection,
  type RecordedEvent,
} from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import { alertsProjection } from '../src/alerts/read-models/alerts/projection';
import { listAlerts } from '../src/alerts/read-models/alerts/query';
import { archiveHandler, readArchived } from '../src/archive/archive';
import { liveOrdersProjection } from '../src/read-models/live-orders/projection';
import { liveOrders } from '../src/read-models/live-orders/query';
import { orderFunnelProjection } from '../src/read-models/order-funnel/projection';
import { funnelSeries } from '../src/read-models/order-funnel/query';
import { productSalesProjection } from '../src/read-models/product-sales/projection';
import { topProducts } from '../src/read-models/product-sales/query';
import { revenueProjection } from '../src/read-models/revenue/projection';
import { revenueSeries } from '../src/read-models/revenue/query';
import { sagaDurationsProjection } from '../src/read-models/saga-durations/projection';
import { sagaLatencySeries } from '../src/read-models/saga-durations/query';
import { stockLevelsProjection } from '../src/read-models/stock-levels/projection';
import { stockLevels, stockOuts } from '../src/read-models/stock-levels/query';
import { analyticsMigrations } from '../migrations';
import { at, cancelled, confirmed, consumed, eur, message, placed, placedV1, rejected, sagaEnded, stock, T0 } from './support';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;



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

  const tablesOf = (projection: Projection) => Object.keys(projection.tables);

  /** Applies the events as the runner does: page by page, each page in one transaction through the batch handler. */
  async function apply(projection: Projection, events: RecordedEvent[], pageSize = Math.max(events.length, 1)): Promise<void> {
    for (let i = 0; i < events.length; i += pageSize) {
      const page = events.slice(i, i + pageSize);
      await db.transaction((trx) => applyEvents(projection, page, { trx, table: (t) => t }));
    }
  }

  /**
   * Applies every event, then the same events again: as one page, one by one
   * through `apply`, and as two overlapping pages; none of the repeats may
   * change anything.
   */
  async function applyTwice(projection: Projection, events: RecordedEvent[]): Promise<void> {
    await apply(projection, events);
    const once = await checksumTables(db, tablesOf(projection));
    await apply(projection, events);
    for (const e of events) await db.transaction((trx) => projection.apply(e, { trx, table: (t) => t }));
    const third = Math.floor(events.length / 3);
    await apply(projection, events.slice(third, events.length - third));
    expect(await checksumTables(db, tablesOf(projection))).toBe(once);
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
      expect(first!.schemaVersion).toBe(2);
      expect(first!.data).toEqual(JSON.parse(m.value));
      expect(first!.metadata).toMatchObject({
        correlationId: m.headers!.ce_correlationid,
        envelope: { id: m.headers!.ce_id, type: 'order.placed', source: 'order-service', schemaversion: 2, subject: orderId },
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
    it('archives an order.placed v1 as v1 and hands projections v2, with channel api', async () => {
      const orderId = randomUUID();
      const [event] = await archive([placedV1(orderId)]);
      expect(event!.schemaVersion).toBe(1);
      expect(event!.data).not.toHaveProperty('channel');
      expect(readArchived(event!)).toMatchObject({ orderId, channel: 'api' });
      // As projections read it: without metadata.
      expect(readArchived({ ...event!, metadata: {} })).toMatchObject({ orderId, channel: 'api' });
      // And the live-orders projection applies it.
      const projection = liveOrdersProjection();
      await freshTables(projection);
      await apply(projection, [event!]);
      expect((await liveOrders(db, { limit: 10 }))[0]).toMatchObject({ orderId, status: 'pending', units: 3, channel: 'api' });
    });

    it('reads an order.placed v2 as archived, with its channel', async () => {
      const orderId = randomUUID();
      const [event] = await archive([placed(orderId, 0, undefined, 'mobile')]);
      expect(event!.schemaVersion).toBe(2);
      expect(readArchived(event!)).toMatchObject({ orderId, channel: 'mobile' });
    });

    it('refuses an archived version its contracts do not know', async () => {
      const [event] = await archive([placed(randomUUID())]);
      expect(() => readArchived({ ...event!, schemaVersion: 7 })).toThrow(/version 7 is not supported/);
      // Projections read the archive without metadata: the version is the event's own.
      expect(() => readArchived({ ...event!, schemaVersion: 7, metadata: {} })).toThrow(/version 7 is not supported/);
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

    it('keeps the channel each order was placed through; an order.placed v1 reads as api', async () => {
      const projection = liveOrdersProjection();
      await freshTables(projection);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      // c's confirmation is archived before its order.placed: the row has no channel until that arrives.
      const events = await archive([placed(a, 0, undefined, 'mobile'), placedV1(b, 1), confirmed(c, 12), confirmed(a, 10), placed(c, 2)]);
      await applyTwice(projection, events);
      const channels = async () => Object.fromEntries((await liveOrders(db, { limit: 10 })).map((o) => [o.orderId, o.channel]));
      expect(await channels()).toEqual({ [a]: 'mobile', [b]: 'api', [c]: 'web' });
      await freshTables(projection);
      await apply(projection, events.slice(0, 3));
      expect(await channels()).toEqual({ [a]: 'mobile', [b]: 'api', [c]: null });
    });

    it('migration 0002 gives a table created before the channel the rows a rebuild writes', async () => {
      const projection = liveOrdersProjection();
      await freshTables(projection);
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      // What the archive held when the table was created: order.placed v1 only, and a confirmation whose order.placed is not in yet.
      await apply(projection, await archive([placedV1(a, 0), placedV1(b, 1), confirmed(a, 10), confirmed(c, 12)]));
      const rebuilt = await checksumTables(db, ['live_orders']);
      // The table as the release before wrote it: the same columns, without the last one.
      await db.raw('alter table live_orders drop column channel');
      await analyticsMigrations['0002_live_orders_channel']!.up(db);
      expect(await checksumTables(db, ['live_orders'])).toBe(rebuilt);
      expect(Object.fromEntries((await liveOrders(db, { limit: 10 })).map((o) => [o.orderId, o.channel]))).toEqual({ [a]: 'api', [b]: 'api', [c]: null });
      // Run again (or on a table that already has the column), it changes nothing.
      await analyticsMigrations['0002_live_orders_channel']!.up(db);
      expect(await checksumTables(db, ['live_orders'])).toBe(rebuilt);
    });
  });

  describe('saga durations', () => {
    it('keeps one row per ended saga and serves nearest-rank percentiles and the compensation rate', async () => {
      const projection = sagaDurationsProjection();
      await freshTables(projection);
      const durations = [120, 80, 400, 95, 3_000];
      const events = await archive(durations.map((ms, i) => sagaEnded(randomUUID(), ms, i === 4 ? 2 : 0, 10 + i)));
      await applyTwice(projection, events);
      const range = { from: new Date(T0), to: new Date(Date.parse(T0) + 3_600_000), bucket: 'minute' as const };
      expect(await sagaLatencySeries(db, range)).toEqual([
        { at: T0, count: 5, p50Ms: 120, p95Ms: 3_000, p99Ms: 3_000, compensated: 1, compensationRate: 0.2 },
      ]);
    });
  });

  describe('alerts', () => {
    it('shows an alert raised, then resolved, once each', async () => {
      await freshTables(alertsProjection);
      const ruleId = randomUUID();
      const alertId = randomUUID();
      await store.append(`alert-${ruleId}`, [
        {
          type: 'AlertRaised',
          data: {
            alertId, ruleId, ruleName: 'low stock', ruleVersion: 1, subject: 'SKU-A', severity: 'warning', metric: 'stock_available',
            comparator: 'below', threshold: 5, windowMinutes: 5, value: 2, samples: 1, message: 'stock of SKU-A (2 available) is below 5', raisedAt: at(0),
          },
        },
        { type: 'AlertResolved', data: { alertId, ruleId, subject: 'SKU-A', value: 9, reason: 'recovered', resolvedAt: at(60) } },
      ]);
      const events = await store.readStream(`alert-${ruleId}`);
      await applyTwice(alertsProjection, events);
      expect(await listAlerts(db, { limit: 10, ruleId })).toEqual([
        expect.objectContaining({ id: alertId, state: 'resolved', value: 2, resolvedValue: 9, resolveReason: 'recovered', raisedAt: at(0), resolvedAt: at(60) }),
      ]);
      // The raise applied again after the resolution does not bring the alert back.
      await apply(alertsProjection, events.slice(0, 1));
      expect((await listAlerts(db, { limit: 10, state: 'active', ruleId }))).toEqual([]);
    });
  });

  describe('pages and re-applications', () => {
    /** A bit of everything: a product re-added, late and early cancellations, stock-outs and restocks. */
    const history = () => {
      const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const sku = `SKU-P${randomUUID().slice(0, 6).toUpperCase()}`;
      return [
        message(ProductAdded, { sku: 'SKU-A', name: 'Alpha', description: '', category: 'tools', price: eur(1000), addedAt: T0 }),
        placed(a, 0),
        placed(b, 5),
        stock(sku, 3, 'received', 6),
        stock(sku, 0, 'reserved', 7),
        placed(c, 65),
        placed(d, 70),
        confirmed(a, 30),
        rejected(b, 'payment declined', 40),
        confirmed(c, 80, 'USD'),
        stock(sku, 2, 'restocked', 90),
        message(OrderCancellationRequested, { orderId: a, customerId: 'cust-1', requestedAt: at(100) }),
        cancelled(a, 130),
        // Cancelled while pending, then a late confirmation: neither counts revenue.
        cancelled(d, 140),
        confirmed(d, 150),
        message(ProductAdded, { sku: 'SKU-A', name: 'Alpha Two', description: '', category: 'tools', price: eur(1000), addedAt: at(155) }),
        stock(sku, 0, 'reserved', 160),
        stock(`${sku}-B`, 0, 'adjusted', 161),
        sagaEnded(a, 900, 0, 31),
        sagaEnded(b, 1_500, 1, 41),
        sagaEnded(c, 700, 0, 81),
      ];
    };
    const projections = () => [
      orderFunnelProjection(),
      revenueProjection(),
      productSalesProjection(),
      stockLevelsProjection(),
      liveOrdersProjection(),
      sagaDurationsProjection(),
    ];

    it.each(projections().map((p) => [p.name, p] as const))('%s: any page size gives the tables one page gives, and repeats change nothing', async (_name, projection) => {
      const events = await archive(history());
      const checksums = [];
      for (const pageSize of [events.length, 1, 3, 7]) {
        await freshTables(projection);
        await apply(projection, events, pageSize);
        checksums.push(await checksumTables(db, tablesOf(projection)));
      }
      expect(new Set(checksums).size).toBe(1);
      // One by one through `apply` (the per-event path) ...
      await freshTables(projection);
      for (const e of events) await db.transaction((trx) => projection.apply(e, { trx, table: (t) => t }));
      expect(await checksumTables(db, tablesOf(projection))).toBe(checksums[0]);
      // ... then overlapping pages, the same page twice, and everything again.
      await applyTwice(projection, events);
      expect(await checksumTables(db, tablesOf(projection))).toBe(checksums[0]);
    });

    it.each(projections().map((p) => [p.name, p] as const))('%s: a rebuild from a position onto the live tables equals a rebuild from 0', async (_name, projection) => {
      await archive(history());
      await freshTables(projection);
      const runner = new ProjectionRunner(db, store, projection);
      await runner.init();
      const full = await runner.rebuild({ batchSize: 5 });
      const head = await store.headPosition();
      expect(full.position).toBe(head);
      expect(await checksumTables(db, tablesOf(projection))).toBe(full.checksum);
      // Every event after `from` is applied again onto tables that already reflect it.
      const partial = await runner.rebuild({ fromPosition: head - 12, batchSize: 5 });
      expect(partial).toMatchObject({ position: head, checksum: full.checksum });
      expect(partial.eventsApplied).toBeGreaterThan(0);
    });
  });
});
