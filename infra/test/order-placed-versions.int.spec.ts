import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderPlaced } from '@shop/contracts';
import { startServiceForTest, waitFor, type ServiceUnderTest } from '@shop/platform/testing';
import { analyticsService } from '../../analytics-service/src/composition';
import { coordinatorService } from '../../coordinator-service/src/composition';
import { orderService } from '../../order-service/src/composition';

/**
 * order.placed v1 -> v2 during a rolling deploy, with the real services on
 * one bus: an order service still configured with ORDER_PLACED_VERSION=1 (it
 * publishes v1, downcast) and one with the default (v2), in front of the
 * new coordinator and the new analytics, which accept both. Each service is
 * started from its definition and observed through its HTTP API, its
 * database and the bus, as the services see each other.
 */
describe('order.placed v1 and v2 side by side (ORDER_PLACED_VERSION)', () => {
  let analytics: ServiceUnderTest;
  let coordinator: ServiceUnderTest;
  let ordersV1: ServiceUnderTest;
  let ordersV2: ServiceUnderTest;
  const started: ServiceUnderTest[] = [];

  beforeAll(async () => {
    // The analytics harness's bus is the bus of them all.
    analytics = await startServiceForTest(analyticsService, { label: 'versions_analytics' });
    started.push(analytics);
    const bus = { BUS_DATABASE_URL: analytics.env.BUS_DATABASE_URL! };
    // No participant answers the coordinator's commands here: no deadline may expire while the test runs.
    coordinator = await startServiceForTest(coordinatorService, { label: 'versions_coordinator', env: { ...bus, DEADLINE_PRICING_MS: '1h' } });
    started.push(coordinator);
    ordersV1 = await startServiceForTest(orderService, { label: 'versions_orders_v1', env: { ...bus, ORDER_PLACED_VERSION: '1' } });
    started.push(ordersV1);
    ordersV2 = await startServiceForTest(orderService, { label: 'versions_orders_v2', env: bus });
    started.push(ordersV2);
  }, 120_000);
  afterAll(async () => {
    for (const s of started.reverse()) await s.stop();
  });

  /** Places an order through the order service's API; returns its id. */
  const place = async (orders: ServiceUnderTest, channel: string) => {
    const customer = `customer-${randomUUID()}`;
    const res = await orders.request('POST', '/v1/orders', {
      token: await orders.token('customer', customer),
      body: { lines: [{ sku: 'SKU-1', quantity: 2 }], paymentToken: 'tok_approve', channel },
      headers: { 'idempotency-key': randomUUID() },
    });
    expect(res.status).toBe(202);
    return res.json.orderId as string;
  };

  /** The order.placed on the bus about the order: its schema version and data. */
  const published = async (orderId: string) => {
    let row: { headers: Record<string, string>; value: string } | undefined;
    await waitFor(async () => {
      row = (await analytics.busDb('bus_messages').where({ topic: 'order.events', key: orderId }).first('headers', 'value')) as typeof row;
      return row !== undefined;
    }, 20_000);
    return { version: row!.headers.ce_schemaversion, data: JSON.parse(row!.value) as Record<string, unknown> };
  };

  /** The coordinator's place-order saga of the order, once it exists (its admin API). */
  const saga = async (orderId: string) => {
    const admin = await coordinator.token('admin');
    let body: { status: string; history: { type: string; data: unknown }[] } | undefined;
    await waitFor(async () => {
      const res = await coordinator.request('GET', `/v1/sagas/place-order-${orderId}`, { token: admin });
      body = res.status === 200 ? res.json : undefined;
      return body !== undefined && body.history.some((h) => h.type === 'CommandIssued');
    }, 20_000);
    return body!;
  };

  /** What analytics archived about the order, and its live-orders row (its admin API). */
  const inAnalytics = async (orderId: string) => {
    const admin = await analytics.token('admin');
    let row: { orderId: string; status: string; channel: string | null } | undefined;
    await waitFor(async () => {
      const res = await analytics.request('GET', '/v1/orders/live?limit=100', { token: admin });
      row = (res.json?.items as (typeof row)[] | undefined)?.find((o) => o?.orderId === orderId);
      return row !== undefined;
    }, 20_000);
    const archived = (await analytics.store.readStream(`order-${orderId}`)).filter((e) => e.type === OrderPlaced.type);
    return { row: row!, archived };
  };

  it('an order service publishing v1 (downcast): the order keeps its channel, the message has none', async () => {
    const orderId = await place(ordersV1, 'web');
    expect((await ordersV1.store.readStream(`order-${orderId}`))[0]!.data).toMatchObject({ channel: 'web' });
    const message = await published(orderId);
    expect(message.version).toBe('1');
    expect(message.data).not.toHaveProperty('channel');
    expect(message.data).toMatchObject({ orderId, lines: [{ sku: 'SKU-1', quantity: 2 }] });
  });

  it('an order service publishing v2 (the default): the message carries the channel', async () => {
    const orderId = await place(ordersV2, 'mobile');
    const message = await published(orderId);
    expect(message.version).toBe('2');
    expect(message.data).toMatchObject({ orderId, channel: 'mobile' });
  });

  it('the coordinator starts the place-order saga for both, asking the catalog to price the lines', async () => {
    const [v1, v2] = await Promise.all([place(ordersV1, 'web'), place(ordersV2, 'api')]);
    for (const orderId of [v1, v2]) {
      const s = await saga(orderId);
      expect(s.status).toBe('running');
      expect(s.history.find((h) => h.type === 'CommandIssued')!.data).toMatchObject({
        command: { type: 'catalog.price-order-lines', data: { orderId, lines: [{ sku: 'SKU-1', quantity: 2 }] } },
      });
    }
  });

  it('analytics archives each as it came (v1 and v2) and lists both, the v1 order as placed through the API', async () => {
    const [v1, v2] = await Promise.all([place(ordersV1, 'web'), place(ordersV2, 'mobile')]);
    const fromV1 = await inAnalytics(v1);
    expect(fromV1.archived.map((e) => e.schemaVersion)).toEqual([1]);
    expect(fromV1.archived[0]!.data).not.toHaveProperty('channel');
    // The v1 message does not say: the upcaster's 'api' (every order before v2 came through the API).
    expect(fromV1.row).toMatchObject({ status: 'pending', channel: 'api' });
    const fromV2 = await inAnalytics(v2);
    expect(fromV2.archived.map((e) => e.schemaVersion)).toEqual([2]);
    expect(fromV2.row).toMatchObject({ status: 'pending', channel: 'mobile' });
  });

  it('refuses to start an order service asked for a version order.placed cannot be built at', async () => {
    await expect(startServiceForTest(orderService, { label: 'versions_orders_bad', env: { ORDER_PLACED_VERSION: '3' } })).rejects.toThrow(
      /ORDER_PLACED_VERSION: expected one of 2, 1/,
    );
  });
});
