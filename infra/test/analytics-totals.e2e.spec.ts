import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@shop/platform/testing';
import { LocalStack, stopAllStacks } from './support/local-stack';

const ORDERS = 300;
const CANCELLED_AFTER_CONFIRMATION = 20;
const CONCURRENCY = 8;

interface Order {
  orderId: string;
  status: string;
  pricedLines: { sku: string; quantity: number; lineTotal: { amount: number; currency: string } }[] | null;
  total: { amount: number; currency: string } | null;
}

const tally = (values: string[]) => values.reduce<Record<string, number>>((t, v) => ({ ...t, [v]: (t[v] ?? 0) + 1 }), {});

/**
 * The analytics issue's integration test: a few hundred orders through the
 * whole local stack (every service its own process, the Postgres bus), some
 * declined, some short of stock, some cancelled after confirmation; then the
 * analytics totals must equal, exactly, what the order and inventory
 * services' own APIs say.
 */
describe('analytics totals against the services of record', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await LocalStack.start({ args: ['--reset'] });
  }, 900_000);
  afterAll(async () => {
    await stopAllStacks();
  });

  it(`counts ${ORDERS} orders, their revenue and units exactly as the order and inventory services do`, async () => {
    const admin = await stack.token('admin');
    const customers = await Promise.all([0, 1, 2, 3, 4].map((i) => stack.token('customer', `totals-customer-${i}`)));
    const skus = (await stack.products('limit=12')).map((p) => p.sku);
    const before = new Map(await Promise.all(skus.map(async (sku) => [sku, await stack.stock(sku)] as const)));

    const placed: { orderId: string; customer: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ORDERS) {
          const i = next++;
          const customer = customers[i % customers.length]!;
          const lines = [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 4) }];
          if (i % 3 === 0) lines.push({ sku: skus[(i * 7 + 1) % skus.length]!, quantity: 2 });
          const orderId = await stack.placeOrder(customer, lines, i % 9 === 8 ? 'tok_decline' : 'tok_approve');
          placed.push({ orderId, customer });
        }
      }),
    );
    const ended = new Map<string, string>();
    await waitFor(async () => {
      for (const { orderId, customer } of placed) {
        if (ended.has(orderId)) continue;
        const { status } = await stack.order(customer, orderId);
        if (status === 'confirmed' || status === 'rejected') ended.set(orderId, status);
      }
      return ended.size === ORDERS;
    }, 90_000);
    // Cancel some confirmed orders: revenue and units must come back out.
    const toCancel = placed.filter((p) => ended.get(p.orderId) === 'confirmed').slice(0, CANCELLED_AFTER_CONFIRMATION);
    expect(toCancel).toHaveLength(CANCELLED_AFTER_CONFIRMATION);
    for (const { orderId } of toCancel) {
      expect((await stack.request('order-service', 'POST', `/v1/orders/${orderId}/cancel`, admin, { reason: 'totals test' })).status).toBe(202);
    }
    await Promise.all(toCancel.map(({ orderId, customer }) => stack.waitForOrder(customer, orderId, ['cancelled'], 60_000)));

    // The services of record: every order as the order service has it, stock as inventory has it.
    // The list is the order service's read model, which may trail the single
    // order reads above by a moment: read it until it shows every cancellation.
    let orders: Order[] = [];
    const listOrders = async (): Promise<Order[]> => {
      const all: Order[] = [];
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const page: { body: { items: Order[]; nextCursor: string | null } } = await stack.request<{ items: Order[]; nextCursor: string | null }>(
          'order-service',
          'GET',
          `/v1/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          admin,
        );
        all.push(...page.body.items);
        cursor = page.body.nextCursor;
      }
      return all;
    };
    await waitFor(async () => {
      orders = await listOrders();
      return orders.filter((o) => o.status === 'cancelled').length >= CANCELLED_AFTER_CONFIRMATION;
    }, 30_000).catch(() => undefined);
    expect(orders).toHaveLength(ORDERS);
    const statuses = tally(orders.map((o) => o.status));
    expect(statuses.cancelled).toBe(CANCELLED_AFTER_CONFIRMATION);
    expect(statuses.rejected).toBeGreaterThan(0);
    const confirmed = orders.filter((o) => o.status === 'confirmed');
    const unitsBySku: Record<string, number> = {};
    const revenueBySku: Record<string, number> = {};
    for (const o of confirmed) {
      for (const l of o.pricedLines!) {
        unitsBySku[l.sku] = (unitsBySku[l.sku] ?? 0) + l.quantity;
        revenueBySku[l.sku] = (revenueBySku[l.sku] ?? 0) + l.lineTotal.amount;
      }
    }
    const revenue = confirmed.reduce((sum, o) => sum + o.total!.amount, 0);
    const stock = new Map(await Promise.all(skus.map(async (sku) => [sku, await stack.stock(sku)] as const)));

    // Analytics, once it has caught up with everything.
    const get = async <T>(route: string) => {
      const res = await stack.request<T>('analytics-service', 'GET', route, admin);
      expect(res.status, route).toBe(200);
      return res.body;
    };
    const day = `from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}&bucket=day`;
    const read = async () => {
      const live = await get<{ items: { orderId: string; status: string }[] }>('/v1/orders/live?limit=500');
      const funnel = await get<{ points: { placed: number; confirmed: number; rejected: number; cancelled: number }[] }>(`/v1/funnel?${day}`);
      const top = await get<{ items: { sku: string; units: number; revenue: number }[] }>('/v1/products/top?limit=100&by=units');
      const net = await get<{ points: { netAmount: number }[] }>(`/v1/revenue?${day}`);
      const sagas = await get<{ points: { count: number }[] }>(`/v1/sagas/latency?${day}`);
      const levels = await get<{ items: { sku: string; onHand: number; reserved: number; available: number; sold: number }[] }>(`/v1/stock?sku=${skus.join(',')}`);
      const sum = (k: 'placed' | 'confirmed' | 'rejected' | 'cancelled') => funnel.points.reduce((s, p) => s + p[k], 0);
      return {
        liveStatuses: tally(live.items.map((o) => (o.status === 'cancelling' ? 'cancellation-requested' : o.status))),
        funnel: { placed: sum('placed'), confirmed: sum('confirmed'), rejected: sum('rejected'), cancelled: sum('cancelled') },
        units: Object.fromEntries(top.items.filter((p) => p.units !== 0).map((p) => [p.sku, p.units])),
        revenueBySku: Object.fromEntries(top.items.filter((p) => p.units !== 0).map((p) => [p.sku, p.revenue])),
        revenue: net.points.reduce((s, p) => s + p.netAmount, 0),
        sagasEnded: sagas.points.reduce((s, p) => s + p.count, 0),
        stock: Object.fromEntries(levels.items.map((l) => [l.sku, { onHand: l.onHand, reserved: l.reserved, available: l.available, sold: l.sold }])),
      };
    };
    const expected = {
      liveStatuses: statuses,
      funnel: {
        placed: ORDERS,
        // Confirmed at the time: still confirmed, plus those cancelled after confirmation.
        confirmed: confirmed.length + CANCELLED_AFTER_CONFIRMATION,
        rejected: statuses.rejected,
        cancelled: CANCELLED_AFTER_CONFIRMATION,
      },
      units: unitsBySku,
      revenueBySku,
      revenue,
      sagasEnded: ORDERS,
      stock: Object.fromEntries(
        [...stock].map(([sku, s]) => [sku, { onHand: s.onHand, reserved: s.reserved, available: s.available, sold: s.sold }]),
      ),
    };
    let actual: Awaited<ReturnType<typeof read>> | undefined;
    await waitFor(async () => {
      actual = await read();
      return isDeepStrictEqual(actual, expected);
    }, 30_000).catch(() => undefined);
    expect(actual).toEqual(expected);
    // Units per SKU also equal what inventory sold during the test.
    for (const sku of skus) expect(unitsBySku[sku] ?? 0).toBe(stock.get(sku)!.sold - before.get(sku)!.sold);
    const projections = await get<{ items: { lag: number }[] }>('/v1/projections');
    expect(projections.items.every((p) => p.lag === 0)).toBe(true);
  });
});
