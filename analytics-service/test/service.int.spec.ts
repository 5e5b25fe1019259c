import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, ProductAdded, StockLevelChanged, buildMessage, defineMessage } from '@shop/contracts';
import { ProjectionRunner, checksumTables, decodeEnvelope } from '@shop/platform';
import { allProjections } from '../src/read-models/all-projections';
import { startAnalytics, type AnalyticsUnderTest, eur, message } from './support';

const MINUTE = '2026-04-01T09:15:00.000Z';
const at = (s: number) => new Date(Date.parse(MINUTE) + s * 1000).toISOString();
const pricedLines = [
  { sku: 'SKU-P1', quantity: 3, unitPrice: eur(700), lineTotal: eur(2100) },
  { sku: 'SKU-P2', quantity: 1, unitPrice: eur(400), lineTotal: eur(400) },
];
const range = `from=${encodeURIComponent('2026-04-01T09:00:00Z')}&to=${encodeURIComponent('2026-04-01T10:00:00Z')}`;

describe('analytics-service in-process (startServiceForTest, Postgres bus)', () => {
  let svc: AnalyticsUnderTest;
  let admin: string;
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  let head = 0;

  beforeAll(async () => {
    svc = await startAnalytics('analytics_svc', { READ_YOUR_WRITES_TIMEOUT: '3s' });
    admin = await svc.token('admin');
    const placedA = message(OrderPlaced, { orderId: a, customerId: 'c-1', lines: [{ sku: 'SKU-P1', quantity: 3 }, { sku: 'SKU-P2', quantity: 1 }], placedAt: at(0), channel: 'web' });
    const published = await svc.publish([
      message(ProductAdded, { sku: 'SKU-P1', name: 'Pliers', description: '', category: 'tools', price: eur(700), addedAt: at(-60) }),
      // The same envelope three times: archived once.
      placedA,
      placedA,
      placedA,
      message(OrderPlaced, { orderId: b, customerId: 'c-2', lines: [{ sku: 'SKU-P1', quantity: 1 }], placedAt: at(1), channel: 'web' }),
      message(OrderPlaced, { orderId: c, customerId: 'c-3', lines: [{ sku: 'SKU-P2', quantity: 1 }], placedAt: at(2), channel: 'web' }),
      message(OrderConfirmed, { orderId: a, customerId: 'c-1', lines: pricedLines, total: eur(2500), confirmedAt: at(10) }),
      message(OrderRejected, { orderId: b, customerId: 'c-2', reason: 'payment declined', rejectedAt: at(11) }),
      message(OrderConfirmed, { orderId: c, customerId: 'c-3', lines: [pricedLines[1]!], total: eur(400), confirmedAt: at(12) }),
      message(OrderCancelled, { orderId: c, customerId: 'c-3', reason: 'changed my mind', cancelledAt: at(70) }),
      message(StockLevelChanged, { sku: 'SKU-P1', onHand: 3, reserved: 3, available: 0, sold: 0, received: 3, cause: 'reserved', orderId: a, changedAt: at(5) }),
      message(StockLevelChanged, { sku: 'SKU-P2', onHand: 5, reserved: 0, available: 5, sold: 1, received: 6, cause: 'restocked', orderId: c, changedAt: at(71) }),
    ]);
    await svc.waitConsumed(published);
    head = await svc.projectionsCaughtUp();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('archives every consumed event once, with its envelope, deduplicated by message id', async () => {
    expect(head).toBe(10);
    const events = (await svc.store.readAll({ maxCount: 100 })).events;
    expect(events.filter((e) => e.type === 'order.placed' && e.streamId === `order-${a}`)).toHaveLength(1);
    expect(new Set(events.map((e) => e.streamId.split('-')[0]))).toEqual(new Set(['order', 'catalog', 'inventory']));
  });

  it('dead-letters a message of a schema version the contracts do not know, without archiving it', async () => {
    const PlacedV9 = defineMessage({ ...OrderPlaced, version: 9 });
    const orderId = randomUUID();
    const [p] = await svc.publish([
      buildMessage(PlacedV9, { orderId, customerId: 'c-9', lines: [{ sku: 'SKU-P1', quantity: 1 }], placedAt: at(0), channel: 'web' }, {
        id: randomUUID(),
        source: 'order-service',
        correlationId: 'x',
      }),
    ]);
    await svc.waitConsumed([p!]);
    const dead = (await svc.busDb('bus_messages').where({ topic: 'analytics-service.dead-letter', key: orderId }).select('headers', 'value')) as {
      headers: Record<string, string>;
      value: string;
    }[];
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers['dlq-error']).toMatch(/version 9 is not supported/);
    expect(decodeEnvelope(dead[0]!).type).toBe('order.placed');
    expect(await svc.store.readStream(`order-${orderId}`)).toEqual([]);
  });

  it('rebuilds every projection from the archive alone to the same tables (bus not involved)', async () => {
    for (const projection of allProjections()) {
      const tables = Object.keys(projection.tables);
      const before = await checksumTables(svc.db, tables);
      const result = await new ProjectionRunner(svc.db, svc.store, projection).rebuild();
      expect(result.checksum).toBe(before);
      expect(result.position).toBeGreaterThanOrEqual(head);
    }
  });

  describe('API', () => {
    it('answers 401 without a token, 403 for a customer, 400 for a bad query', async () => {
      expect((await svc.get(`/v1/funnel?${range}`)).status).toBe(401);
      const customer = await svc.token('customer');
      const forbidden = await svc.get(`/v1/funnel?${range}`, customer);
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers.get('content-type')).toMatch(/problem\+json/);
      expect((await svc.get('/v1/funnel?from=yesterday&to=now', admin)).status).toBe(400);
      expect((await svc.get(`/v1/funnel?${range}&bucket=week`, admin)).status).toBe(400);
      const reversed = await svc.get(`/v1/revenue?from=${encodeURIComponent(at(60))}&to=${encodeURIComponent(at(0))}`, admin);
      expect(reversed.status).toBe(400);
      expect((await svc.get('/v1/products/top?limit=0', admin)).status).toBe(400);
      expect((await svc.get('/v1/stock?sku=lower-case', admin)).status).toBe(400);
    });

    it('serves the funnel per minute and per hour', async () => {
      const minute = await svc.get(`/v1/funnel?${range}&bucket=minute`, admin);
      expect(minute.status).toBe(200);
      expect(minute.json.points).toEqual([
        { at: MINUTE, placed: 3, confirmed: 2, rejected: 1, rejectedByReason: { 'payment declined': 1 }, cancelled: 0 },
        { at: at(60), placed: 0, confirmed: 0, rejected: 0, rejectedByReason: {}, cancelled: 1 },
      ]);
      const hour = await svc.get(`/v1/funnel?${range}&bucket=hour`, admin);
      expect(hour.json.points).toEqual([
        { at: '2026-04-01T09:00:00.000Z', placed: 3, confirmed: 2, rejected: 1, rejectedByReason: { 'payment declined': 1 }, cancelled: 1 },
      ]);
    });

    it('serves revenue per day, net of the cancelled confirmed order', async () => {
      const res = await svc.get(
        `/v1/revenue?from=${encodeURIComponent('2026-04-01T00:00:00Z')}&to=${encodeURIComponent('2026-04-02T00:00:00Z')}&bucket=day&currency=EUR`,
        admin,
      );
      expect(res.status).toBe(200);
      expect(res.json.points).toEqual([
        { at: '2026-04-01T00:00:00.000Z', currency: 'EUR', confirmedAmount: 2900, confirmedOrders: 2, cancelledAmount: 400, cancelledOrders: 1, netAmount: 2500 },
      ]);
    });

    it('serves top products, stock levels, stock-outs and live orders', async () => {
      const top = await svc.get('/v1/products/top?limit=5&by=revenue', admin);
      expect(top.json.items).toEqual([
        { sku: 'SKU-P1', name: 'Pliers', category: 'tools', currency: 'EUR', units: 3, revenue: 2100, orders: 1 },
        { sku: 'SKU-P2', name: null, category: null, currency: 'EUR', units: 1, revenue: 400, orders: 1 },
      ]);
      const stock = await svc.get('/v1/stock?sku=SKU-P1,SKU-P2', admin);
      expect(stock.json.items).toEqual([
        expect.objectContaining({ sku: 'SKU-P1', available: 0, stockOuts: 1, lastCause: 'reserved' }),
        expect.objectContaining({ sku: 'SKU-P2', available: 5, stockOuts: 0, lastCause: 'restocked', sold: 1 }),
      ]);
      const outs = await svc.get('/v1/stock/outs', admin);
      expect(outs.json.items).toEqual([{ sku: 'SKU-P1', at: at(5), cause: 'reserved', orderId: a }]);
      const live = await svc.get('/v1/orders/live?limit=2', admin);
      expect(live.json.items.map((o: { orderId: string; status: string }) => [o.orderId, o.status])).toEqual([
        [c, 'cancelled'],
        [b, 'rejected'],
      ]);
    });

    it('reports each projection live at the archive head', async () => {
      const res = await svc.get('/v1/projections', admin);
      expect(res.status).toBe(200);
      const byName = Object.fromEntries(res.json.items.map((s: { name: string }) => [s.name, s]));
      expect(Object.keys(byName).sort()).toEqual(['alerts', 'live_orders', 'order_funnel', 'product_sales', 'revenue', 'saga_durations', 'stock_levels']);
      for (const s of Object.values(byName)) expect(s).toMatchObject({ state: 'live', position: head, head, lag: 0 });
    });

    it('documents the routes in OpenAPI', async () => {
      const doc = await svc.get('/v1/openapi.json');
      expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/v1/funnel', '/v1/revenue', '/v1/products/top', '/v1/projections']));
    });
  });

  describe('read-your-writes (minPosition)', () => {
    it('answers at once when the projection has reached the position', async () => {
      const res = await svc.get(`/v1/orders/live?minPosition=${head}`, admin);
      expect(res.status).toBe(200);
    });

    it('answers 409 with Retry-After when the position is not reached within the bound (3 s here)', async () => {
      const res = await svc.get(`/v1/orders/live?minPosition=${head + 1000}`, admin);
      expect(res.status).toBe(409);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(JSON.stringify(res.json)).toContain(`position ${head + 1000}`);
    });

    it('waits for an event archived during the request', async () => {
      const orderId = randomUUID();
      const pending = svc.get(`/v1/orders/live?minPosition=${head + 1}&limit=1`, admin);
      await svc.publish([message(OrderPlaced, { orderId, customerId: 'c-4', lines: [{ sku: 'SKU-P1', quantity: 1 }], placedAt: at(3000), channel: 'web' })]);
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.json.items[0].orderId).toBe(orderId);
    });
  });
});
