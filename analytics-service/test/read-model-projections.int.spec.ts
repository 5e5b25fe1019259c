import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OrderCancellationRequested,
  ProductAdded,
} from '@shop/contracts';
import { createKnex } from '@shop/platform';
import { ProjectionSpecification, createTestDatabase, type GivenEvent } from '@shop/platform/testing';
import { alertStreamId, type AlertEvent } from '../src/alerts/alerts';
import { alertsProjection } from '../src/alerts/read-models/alerts/projection';
import { allProjections } from '../src/read-models/all-projections';
import { liveOrdersProjection } from '../src/read-models/live-orders/projection';
import { orderFunnelProjection } from '../src/read-models/order-funnel/projection';
import { productSalesProjection } from '../src/read-models/product-sales/projection';
import { revenueProjection } from '../src/read-models/revenue/projection';
import { sagaDurationsProjection } from '../src/read-models/saga-durations/projection';
import { stockLevelsProjection } from '../src/read-models/stock-levels/projection';
import { archived, at, cancelled, confirmed, eur, message, placed, rejected, sagaEnded, stock } from './support';

/**
 * Every projection of `allProjections()`, specified "twice and in pages": its
 * events (contract messages as the archive stores them, or the evaluator's
 * alert events) applied in one page, in pages of 1, 2, 3 and 7, every page
 * twice and every event twice, give the same rows each time; the rows are
 * then checked.
 */
type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

const date = (seconds: number) => new Date(at(seconds));

const cancelling = (orderId: string, seconds: number) => message(OrderCancellationRequested, { orderId, customerId: 'cust-1', requestedAt: at(seconds) });
const productAdded = (sku: string, name: string, seconds: number) =>
  message(ProductAdded, { sku, name, description: '', category: 'tools', price: eur(1000), addedAt: at(seconds) });

/** The rows of a table, whatever their order: exactly these (bigint columns read back as strings, timestamps as dates). */
function expectRows(actual: Record<string, unknown>[] | undefined, expected: Record<string, unknown>[]): void {
  expect(actual).toHaveLength(expected.length);
  expect(actual).toEqual(expect.arrayContaining(expected));
}

/** The messages as the archive consumer would have recorded them, in arrival order. */
const archive = (...messages: ReturnType<typeof message>[]): GivenEvent[] => messages.map((m, i) => archived(m, i));

describe('read-model projections, applied twice and in pages', () => {
  let dbConn: TestDb;
  let db: Knex;
  const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];

  beforeAll(async () => {
    dbConn = await createTestDatabase('analytics_projection_specs');
    db = createKnex(dbConn);
  });
  afterAll(async () => {
    await db?.destroy();
    await dbConn?.drop();
  });

  it('covers every projection of the service', () => {
    expect(allProjections().map((p) => p.name)).toEqual(['order_funnel', 'revenue', 'product_sales', 'stock_levels', 'live_orders', 'saga_durations', 'alerts']);
  });

  it('order_funnel: counts placed, confirmed, rejected by reason and cancelled per minute', async () => {
    const rows = await ProjectionSpecification.for(orderFunnelProjection(), { db })
      .given(
        archive(
          placed(a, 0),
          placed(b, 5),
          placed(c, 65),
          confirmed(a, 30),
          rejected(b, 'payment declined', 40),
          rejected(c, 'out of stock', 70),
          cancelling(a, 100),
          cancelled(a, 130),
        ),
      )
      .rows();
    // The cancellation request is not a funnel stage: it counts nowhere.
    expectRows(rows.order_funnel_minute, [
      { minute: date(0), stage: 'placed', reason: '', count: '2', last_position: '2' },
      { minute: date(0), stage: 'confirmed', reason: '', count: '1', last_position: '4' },
      { minute: date(0), stage: 'rejected', reason: 'payment declined', count: '1', last_position: '5' },
      { minute: date(60), stage: 'placed', reason: '', count: '1', last_position: '3' },
      { minute: date(60), stage: 'rejected', reason: 'out of stock', count: '1', last_position: '6' },
      { minute: date(120), stage: 'cancelled', reason: '', count: '1', last_position: '8' },
    ]);
  });

  it('revenue: sums confirmed totals per minute and day by currency, minus cancellations of confirmed orders only', async () => {
    const rows = await ProjectionSpecification.for(revenueProjection(), { db })
      .given(archive(confirmed(a, 10), confirmed(b, 20), confirmed(c, 30, 'USD'), cancelled(a, 70), cancelled(d, 80), confirmed(d, 90)))
      .rows();
    const totals = (confirmedAmount: number, confirmedOrders: number, cancelledAmount: number, cancelledOrders: number) => ({
      confirmed_amount: String(confirmedAmount),
      confirmed_orders: String(confirmedOrders),
      cancelled_amount: String(cancelledAmount),
      cancelled_orders: String(cancelledOrders),
    });
    expectRows(rows.revenue_minute, [
      { minute: date(0), currency: 'EUR', ...totals(5000, 2, 0, 0) },
      { minute: date(0), currency: 'USD', ...totals(2500, 1, 0, 0) },
      { minute: date(60), currency: 'EUR', ...totals(0, 0, 2500, 1) },
    ]);
    const day = new Date('2026-03-02T00:00:00.000Z');
    expectRows(rows.revenue_day, [
      { day, currency: 'EUR', ...totals(5000, 2, 2500, 1) },
      { day, currency: 'USD', ...totals(2500, 1, 0, 0) },
    ]);
    // d was cancelled before its (late) confirmation: neither counts, and the confirmation only moved its position.
    expectRows(rows.revenue_orders, [
      { order_id: a, currency: 'EUR', amount: '2500', status: 'cancelled', last_position: '4' },
      { order_id: b, currency: 'EUR', amount: '2500', status: 'confirmed', last_position: '2' },
      { order_id: c, currency: 'USD', amount: '2500', status: 'confirmed', last_position: '3' },
      { order_id: d, currency: null, amount: null, status: 'cancelled_unconfirmed', last_position: '6' },
    ]);
  });

  it('product_sales: units and revenue per SKU net of cancelled confirmed orders, with the latest catalog name', async () => {
    const rows = await ProjectionSpecification.for(productSalesProjection(), { db })
      .given(archive(productAdded('SKU-A', 'Alpha', 0), confirmed(a, 10), confirmed(b, 20), confirmed(c, 30, 'USD'), cancelled(b, 40), cancelled(d, 50), productAdded('SKU-A', 'Alpha Two', 60)))
      .rows();
    const sales = (sku: string, currency: string, units: number, revenue: number, orders: number) => ({
      sku,
      currency,
      units: String(units),
      revenue: String(revenue),
      orders: String(orders),
    });
    // b's cancellation takes back what its confirmation added; d, never confirmed, takes back nothing.
    expectRows(rows.product_sales, [sales('SKU-A', 'EUR', 2, 2000, 1), sales('SKU-B', 'EUR', 1, 500, 1), sales('SKU-A', 'USD', 2, 2000, 1), sales('SKU-B', 'USD', 1, 500, 1)]);
    const eurSales = [
      ['SKU-A', 'EUR', 2, 2000],
      ['SKU-B', 'EUR', 1, 500],
    ];
    expectRows(rows.product_sales_orders, [
      { order_id: a, sales: eurSales, status: 'confirmed', last_position: '2' },
      { order_id: b, sales: eurSales, status: 'cancelled', last_position: '5' },
      { order_id: c, sales: [['SKU-A', 'USD', 2, 2000], ['SKU-B', 'USD', 1, 500]], status: 'confirmed', last_position: '4' },
      { order_id: d, sales: null, status: 'cancelled_unconfirmed', last_position: '6' },
    ]);
    expectRows(rows.product_sales_products, [{ sku: 'SKU-A', name: 'Alpha Two', category: 'tools', last_position: '7' }]);
  });

  it('stock_levels: the latest figures per SKU and a stock-out each time available stock drops to 0', async () => {
    const rows = await ProjectionSpecification.for(stockLevelsProjection(), { db })
      .given(
        archive(
          stock('SKU-S1', 5, 'received', 0),
          stock('SKU-S1', 0, 'reserved', 10, a),
          stock('SKU-S1', 0, 'committed', 20, a),
          stock('SKU-S1', 2, 'restocked', 30, b),
          stock('SKU-S2', 0, 'adjusted', 35),
          stock('SKU-S1', 0, 'reserved', 40, c),
        ),
      )
      .rows();
    const figures = { on_hand: '1', reserved: '1', available: '0', sold: '3', received: '10' };
    expectRows(rows.stock_levels, [
      { sku: 'SKU-S1', ...figures, last_cause: 'reserved', changed_at: date(40), last_position: '6' },
      { sku: 'SKU-S2', ...figures, last_cause: 'adjusted', changed_at: date(35), last_position: '5' },
    ]);
    // Stock-outs: S1 dropping to 0 (twice: the commit at 0 is none, the restock ends the first), S2 first seen at 0.
    const outs = rows.stock_outs!.map(({ event_id: _id, ...o }) => o);
    expectRows(outs, [
      { sku: 'SKU-S1', at: date(10), cause: 'reserved', order_id: a, position: '2' },
      { sku: 'SKU-S2', at: date(35), cause: 'adjusted', order_id: null, position: '5' },
      { sku: 'SKU-S1', at: date(40), cause: 'reserved', order_id: c, position: '6' },
    ]);
    // Keyed by the archived event's id.
    expect(new Set(rows.stock_outs!.map((o) => o.event_id)).size).toBe(3);
  });

  it('live_orders: one row per order with its latest status', async () => {
    const rows = await ProjectionSpecification.for(liveOrdersProjection(), { db })
      .given(
        archive(
          placed(a, 0),
          placed(b, 1, [{ sku: 'SKU-A', quantity: 1 }]),
          placed(c, 2),
          confirmed(a, 10),
          rejected(b, 'out of stock', 11),
          confirmed(c, 12),
          cancelling(c, 20),
          cancelled(a, 30),
        ),
      )
      .rows();
    const order = { customer_id: 'cust-1', line_count: 2, units: 3, total_amount: '2500', currency: 'EUR', channel: 'web' };
    expectRows(rows.live_orders, [
      { order_id: a, ...order, status: 'cancelled', reason: 'changed my mind', placed_at: date(0), updated_at: date(30), last_position: '8' },
      {
        order_id: b,
        customer_id: 'cust-1',
        status: 'rejected',
        line_count: 1,
        units: 1,
        total_amount: null,
        currency: null,
        reason: 'out of stock',
        placed_at: date(1),
        updated_at: date(11),
        last_position: '5',
        channel: 'web',
      },
      { order_id: c, ...order, status: 'cancelling', reason: null, placed_at: date(2), updated_at: date(20), last_position: '7' },
    ]);
  });

  it('saga_durations: one row per ended saga', async () => {
    const rows = await ProjectionSpecification.for(sagaDurationsProjection(), { db })
      .given(archive(sagaEnded(a, 120, 0, 10), sagaEnded(b, 3_000, 2, 11), sagaEnded(c, 95, 0, 70)))
      .rows();
    const run = (orderId: string, outcome: string, compensations: number, durationMs: number, endedAt: number) => ({
      saga_id: `place-order-${orderId}`,
      saga_type: 'place-order',
      order_id: orderId,
      outcome,
      compensations,
      started_at: new Date(Date.parse(at(endedAt)) - durationMs),
      ended_at: date(endedAt),
      duration_ms: String(durationMs),
    });
    expectRows(rows.saga_runs, [run(a, 'completed', 0, 120, 10), run(b, 'rejected', 2, 3_000, 11), run(c, 'completed', 0, 95, 70)]);
  });

  it('alerts: an alert raised then resolved, another still raised', async () => {
    const ruleId = randomUUID();
    const [first, second] = [randomUUID(), randomUUID()];
    const raised = (alertId: string, subject: string, value: number, seconds: number): AlertEvent => ({
      type: 'AlertRaised',
      alertId,
      ruleId,
      ruleName: 'low stock',
      ruleVersion: 1,
      subject,
      severity: 'warning',
      metric: 'stock_available',
      comparator: 'below',
      threshold: 5,
      windowMinutes: 5,
      value,
      samples: 1,
      message: `stock of ${subject} (${value} available) is below 5`,
      raisedAt: at(seconds),
    });
    const events: AlertEvent[] = [
      raised(first, 'SKU-A', 2, 0),
      raised(second, 'SKU-B', 0, 5),
      { type: 'AlertResolved', alertId: first, ruleId, subject: 'SKU-A', value: 9, reason: 'recovered', resolvedAt: at(60) },
    ];
    const rows = await ProjectionSpecification.for(alertsProjection, { db })
      .given(events.map(({ type, ...data }) => ({ streamId: alertStreamId(ruleId), type, data })))
      .rows();
    const alert = {
      rule_id: ruleId,
      rule_name: 'low stock',
      severity: 'warning',
      metric: 'stock_available',
      comparator: 'below',
      threshold: 5,
      window_minutes: 5,
      samples: '1',
    };
    expectRows(rows.alerts, [
      {
        alert_id: first,
        ...alert,
        subject: 'SKU-A',
        value: 2,
        message: 'stock of SKU-A (2 available) is below 5',
        state: 'resolved',
        raised_at: date(0),
        resolved_at: date(60),
        resolved_value: 9,
        resolve_reason: 'recovered',
        position: '1',
      },
      {
        alert_id: second,
        ...alert,
        subject: 'SKU-B',
        value: 0,
        message: 'stock of SKU-B (0 available) is below 5',
        state: 'raised',
        raised_at: date(5),
        resolved_at: null,
        resolved_value: null,
        resolve_reason: null,
        position: '2',
      },
    ]);
  });
});
