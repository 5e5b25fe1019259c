import type { Knex } from 'knex';
import { z } from 'zod';
import { Currency, OrderChannel, Sku } from '@shop/contracts';
import { ValidationError, defineRoute, integerParameter, problemSchema, type Route } from '@shop/platform';
import { BUCKETS, type Bucket, type TimeRange } from './buckets';
import { LIVE_ORDER_STATUSES } from './live-orders/projection';
import { liveOrders } from './live-orders/query';
import { funnelSeries } from './order-funnel/query';
import { topProducts } from './product-sales/query';
import type { ReadModels } from './read-models';
import { revenueSeries } from './revenue/query';
import { sagaLatencySeries } from './saga-durations/query';
import { stockLevels, stockOuts } from './stock-levels/query';

const ADMIN = ['admin'] as const;
/** Widest range a time-series query may span, in buckets. */
export const MAX_BUCKETS = 10_000;

const MinPosition = integerParameter(z.number().int().min(0))
  .optional()
  .describe('Archive position to wait for (read-your-writes); 409 with Retry-After if not reached within the bound.');

const TimeSeriesQuery = z.object({
  from: z.iso.datetime({ offset: true }).describe('Inclusive start (RFC 3339).'),
  to: z.iso.datetime({ offset: true }).describe('Exclusive end (RFC 3339).'),
  bucket: z.enum(Object.keys(BUCKETS) as [Bucket, ...Bucket[]]).default('minute'),
  minPosition: MinPosition,
});

const rangeOf = (q: { from: string; to: string; bucket: Bucket }): TimeRange => {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (from.getTime() >= to.getTime()) throw new ValidationError('from must be before to', { from: q.from, to: q.to });
  if ((to.getTime() - from.getTime()) / 1000 / BUCKETS[q.bucket] > MAX_BUCKETS) {
    throw new ValidationError(`the range spans more than ${MAX_BUCKETS} ${q.bucket} buckets; use a larger bucket`, {});
  }
  return { from, to, bucket: q.bucket };
};

const FunnelPoint = z
  .object({
    at: z.string(),
    placed: z.number().int(),
    confirmed: z.number().int(),
    rejected: z.number().int(),
    rejectedByReason: z.record(z.string(), z.number().int()),
    cancelled: z.number().int(),
  })
  .meta({ id: 'FunnelPoint' });

const RevenuePoint = z
  .object({
    at: z.string(),
    currency: z.string(),
    confirmedAmount: z.number().int(),
    confirmedOrders: z.number().int(),
    cancelledAmount: z.number().int(),
    cancelledOrders: z.number().int(),
    netAmount: z.number().int(),
  })
  .meta({ id: 'RevenuePoint' });

const Series = <T extends z.ZodType>(point: T, id: string) =>
  z.object({ from: z.string(), to: z.string(), bucket: z.string(), points: z.array(point) }).meta({ id });

const ProductSales = z
  .object({
    sku: z.string(),
    name: z.string().nullable(),
    category: z.string().nullable(),
    currency: z.string(),
    units: z.number().int(),
    revenue: z.number().int(),
    orders: z.number().int(),
  })
  .meta({ id: 'ProductSales' });

const StockLevel = z
  .object({
    sku: z.string(),
    onHand: z.number().int(),
    reserved: z.number().int(),
    available: z.number().int(),
    sold: z.number().int(),
    received: z.number().int(),
    lastCause: z.string(),
    changedAt: z.string(),
    stockOuts: z.number().int(),
    lastStockOutAt: z.string().nullable(),
  })
  .meta({ id: 'StockLevel' });

const StockOut = z
  .object({ sku: z.string(), at: z.string(), cause: z.string(), orderId: z.string().nullable() })
  .meta({ id: 'StockOut' });

const LiveOrder = z
  .object({
    orderId: z.string(),
    customerId: z.string().nullable(),
    status: z.enum(LIVE_ORDER_STATUSES),
    lineCount: z.number().int().nullable(),
    units: z.number().int().nullable(),
    total: z.object({ amount: z.number().int(), currency: z.string() }).nullable(),
    reason: z.string().nullable(),
    placedAt: z.string().nullable(),
    updatedAt: z.string(),
    channel: OrderChannel.nullable(),
  })
  .meta({ id: 'LiveOrder' });

const SagaLatencyPoint = z
  .object({
    at: z.string(),
    count: z.number().int(),
    p50Ms: z.number(),
    p95Ms: z.number(),
    p99Ms: z.number(),
    compensated: z.number().int(),
    compensationRate: z.number().describe('compensated / count, 0..1'),
  })
  .meta({ id: 'SagaLatencyPoint' });

const ProjectionStatus = z
  .object({
    name: z.string(),
    state: z.enum(['live', 'rebuilding']),
    position: z.number().int(),
    head: z.number().int(),
    lag: z.number().int(),
    rebuildPosition: z.number().int().optional(),
  })
  .meta({ id: 'ProjectionStatus' });

const Limit = (max: number, dflt: number) => integerParameter(z.number().int().min(1).max(max)).default(dflt);

/** The read API: every route is for admins (operators), under /v1. */
export function analyticsRoutes(db: Knex, readModels: ReadModels): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/funnel',
      summary: 'Order funnel time series',
      description: 'Orders placed, confirmed, rejected (by reason) and cancelled per bucket, for minutes in [from, to). Empty buckets are left out.',
      tags: ['analytics'],
      auth: ADMIN,
      request: { query: TimeSeriesQuery },
      responses: { 200: Series(FunnelPoint, 'FunnelSeries'), 409: problemSchema },
      handler: async ({ query }) => {
        const range = rangeOf(query);
        await readModels.reached(['order_funnel'], query.minPosition);
        const points = await funnelSeries(db, range);
        return { status: 200, body: { from: range.from.toISOString(), to: range.to.toISOString(), bucket: range.bucket, points } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/revenue',
      summary: 'Revenue time series by currency',
      description:
        'Totals of confirmed orders (at confirmation) and of cancelled confirmed orders (at cancellation), net = confirmed - cancelled, per bucket and currency.',
      tags: ['analytics'],
      auth: ADMIN,
      request: { query: TimeSeriesQuery.extend({ currency: Currency.optional() }) },
      responses: { 200: Series(RevenuePoint, 'RevenueSeries'), 409: problemSchema },
      handler: async ({ query }) => {
        const range = rangeOf(query);
        await readModels.reached(['revenue'], query.minPosition);
        const points = await revenueSeries(db, range, query.currency);
        return { status: 200, body: { from: range.from.toISOString(), to: range.to.toISOString(), bucket: range.bucket, points } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/products/top',
      summary: 'Top-N products by units sold or revenue',
      description: 'Confirmed orders net of cancelled confirmed orders, per SKU and currency.',
      tags: ['analytics'],
      auth: ADMIN,
      request: {
        query: z.object({
          limit: Limit(100, 10),
          by: z.enum(['units', 'revenue']).default('units'),
          currency: Currency.optional(),
          minPosition: MinPosition,
        }),
      },
      responses: { 200: z.object({ items: z.array(ProductSales) }).meta({ id: 'TopProducts' }), 409: problemSchema },
      handler: async ({ query }) => {
        await readModels.reached(['product_sales'], query.minPosition);
        const items = await topProducts(db, { limit: query.limit, by: query.by, ...(query.currency ? { currency: query.currency } : {}) });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/stock',
      summary: 'Stock levels per SKU',
      description: 'The latest figures of each SKU, with its number of stock-outs. `sku` may be repeated or comma-separated.',
      tags: ['analytics'],
      auth: ADMIN,
      request: {
        query: z.object({
          sku: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .transform((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter((s) => s !== '')))
            .pipe(z.array(Sku).max(100).optional()),
          maxAvailable: integerParameter(z.number().int().min(0)).optional(),
          minPosition: MinPosition,
        }),
      },
      responses: { 200: z.object({ items: z.array(StockLevel) }).meta({ id: 'StockLevels' }), 409: problemSchema },
      handler: async ({ query }) => {
        await readModels.reached(['stock_levels'], query.minPosition);
        const items = await stockLevels(db, {
          ...(query.sku ? { skus: query.sku } : {}),
          ...(query.maxAvailable !== undefined ? { maxAvailable: query.maxAvailable } : {}),
        });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/stock/outs',
      summary: 'Stock-out events, newest first',
      description: "A stock-out is a SKU's available stock dropping to 0.",
      tags: ['analytics'],
      auth: ADMIN,
      request: { query: z.object({ sku: Sku.optional(), limit: Limit(500, 50), minPosition: MinPosition }) },
      responses: { 200: z.object({ items: z.array(StockOut) }).meta({ id: 'StockOuts' }), 409: problemSchema },
      handler: async ({ query }) => {
        await readModels.reached(['stock_levels'], query.minPosition);
        const items = await stockOuts(db, { limit: query.limit, ...(query.sku ? { sku: query.sku } : {}) });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/orders/live',
      summary: 'The last N orders with their status',
      tags: ['analytics'],
      auth: ADMIN,
      request: { query: z.object({ limit: Limit(500, 50), status: z.enum(LIVE_ORDER_STATUSES).optional(), minPosition: MinPosition }) },
      responses: { 200: z.object({ items: z.array(LiveOrder) }).meta({ id: 'LiveOrders' }), 409: problemSchema },
      handler: async ({ query }) => {
        await readModels.reached(['live_orders'], query.minPosition);
        const items = await liveOrders(db, { limit: query.limit, ...(query.status ? { status: query.status } : {}) });
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/sagas/latency',
      summary: 'Saga durations (p50/p95/p99) and compensation rate',
      description:
        'Per bucket of saga end times in [from, to): how many sagas ended, the nearest-rank percentiles of their durations (start to end, in ms), and the share that needed a compensation (a payment voided, stock released). From the coordinator\'s `saga.ended`.',
      tags: ['analytics'],
      auth: ADMIN,
      request: { query: TimeSeriesQuery.extend({ sagaType: z.enum(['place-order', 'cancel-order']).default('place-order') }) },
      responses: { 200: Series(SagaLatencyPoint, 'SagaLatencySeries'), 409: problemSchema },
      handler: async ({ query }) => {
        const range = rangeOf(query);
        await readModels.reached(['saga_durations'], query.minPosition);
        const points = await sagaLatencySeries(db, range, query.sagaType);
        return { status: 200, body: { from: range.from.toISOString(), to: range.to.toISOString(), bucket: range.bucket, points } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/projections',
      summary: 'Projection status',
      description: 'Per projection: the archive position its live tables reflect, the archive head, the lag in events, and live or rebuilding.',
      tags: ['analytics'],
      auth: ADMIN,
      responses: { 200: z.object({ items: z.array(ProjectionStatus) }).meta({ id: 'ProjectionStatuses' }) },
      handler: async () => ({ status: 200, body: { items: await readModels.status() } }),
    }),
  ];
}
