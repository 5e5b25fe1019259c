import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderCancelled, OrderConfirmed, OrderPlaced, ProductAdded, SagaEnded, StockLevelChanged } from '@shop/contracts';
import { checksumTables, type OutgoingMessage, type PublishedMessage } from '@shop/platform';
import { allProjections } from '../src/read-models/all-projections';
import { ReplayUsageError, main, replay, scratchChecksum } from '../src/replay/replay-cli';
import { startAnalytics, type AnalyticsUnderTest, eur, message } from './support';

class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const START = Date.parse('2026-05-01T08:00:00.000Z');
const at = (s: number) => new Date(START + s * 1000).toISOString();
const SKUS = ['SKU-R1', 'SKU-R2', 'SKU-R3', 'SKU-R4'];

/** One order's messages: placed, then confirmed (2 in 3), then cancelled (1 in 4 of those), its saga's end, plus a stock change. */
function orderMessages(i: number): OutgoingMessage[] {
  const orderId = randomUUID();
  const customerId = `c-${i % 17}`;
  const sku = SKUS[i % SKUS.length]!;
  const quantity = 1 + (i % 3);
  const unit = 100 * (1 + (i % SKUS.length));
  const out = [message(OrderPlaced, { orderId, customerId, lines: [{ sku, quantity }], placedAt: at(i), channel: 'web' })];
  if (i % 3 !== 2) {
    const line = { sku, quantity, unitPrice: eur(unit), lineTotal: eur(unit * quantity) };
    out.push(message(OrderConfirmed, { orderId, customerId, lines: [line], total: eur(unit * quantity), confirmedAt: at(i + 5) }));
    if (i % 4 === 0) out.push(message(OrderCancelled, { orderId, customerId, reason: 'changed my mind', cancelledAt: at(i + 65) }));
  }
  out.push(
    message(SagaEnded, {
      sagaId: `place-order-${orderId}`,
      sagaType: 'place-order',
      orderId,
      outcome: i % 3 !== 2 ? 'completed' : 'rejected',
      compensations: i % 3 !== 2 ? 0 : 1,
      startedAt: at(i),
      endedAt: at(i + 5),
      durationMs: 5_000,
    }),
  );
  const available = (i * 5) % 7;
  out.push(
    message(StockLevelChanged, {
      sku,
      onHand: available + quantity,
      reserved: quantity,
      available,
      sold: i,
      received: 100,
      cause: 'reserved',
      orderId,
      changedAt: at(i + 1),
    }),
  );
  return out;
}

const tablesOf = (name: string) => Object.keys(allProjections().find((p) => p.name === name)!.tables);

describe('replay CLI (shadow rebuild, swap, from-scratch verification)', () => {
  let svc: AnalyticsUnderTest;
  let admin: string;
  let next = 0;
  const published: PublishedMessage[] = [];

  const publishOrders = async (n: number) => {
    const batch = Array.from({ length: n }, () => orderMessages(next++)).flat();
    published.push(...(await svc.publish(batch)));
  };

  /** Every projection's tables and every checkpoint row, as one comparable value. */
  const snapshot = async () => ({
    tables: await Promise.all(allProjections().map((p) => checksumTables(svc.db, Object.keys(p.tables)))),
    checkpoints: (await svc.db('projection_checkpoints').orderBy(['projection', 'slot']).select('projection', 'slot', 'position')) as unknown[],
  });

  beforeAll(async () => {
    svc = await startAnalytics('analytics_replay');
    admin = await svc.token('admin');
    published.push(
      ...(await svc.publish(
        SKUS.map((sku, i) =>
          message(ProductAdded, { sku, name: `Thing ${i}`, description: '', category: 'tools', price: eur(100 * (i + 1)), addedAt: at(-60) }),
        ),
      )),
    );
    // 120 orders: ~370 contract messages.
    for (let i = 0; i < 4; i++) await publishOrders(30);
    await svc.waitConsumed(published);
    await svc.projectionsCaughtUp();
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
  });

  it('--dry-run prints what would be rebuilt and changes nothing', async () => {
    const before = await snapshot();
    const head = await svc.store.headPosition();
    expect(head).toBeGreaterThanOrEqual(300);
    const out = new Collector();
    const report = await replay({ projections: [], all: true, dryRun: true, databaseUrl: svc.databaseUrl, out, progress: 'lines' });
    expect(report.dryRun).toBe(true);
    expect(report.projections.map((p) => p.projection)).toEqual(allProjections().map((p) => p.name));
    for (const p of report.projections) {
      expect(p).toMatchObject({ from: 0, head, eventsToReplay: head, tables: tablesOf(p.projection) });
      expect(p.rebuilt).toBeUndefined();
    }
    expect(out.text).toContain(`would rebuild revenue (tables revenue_minute, revenue_day, revenue_orders) from position 0: ${head} events to replay`);

    const fromOut = new Collector();
    const partial = await replay({ projections: ['live_orders'], fromPosition: 100, dryRun: true, databaseUrl: svc.databaseUrl, out: fromOut });
    expect(partial.projections).toEqual([expect.objectContaining({ projection: 'live_orders', from: 100, eventsToReplay: head - 100 })]);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an unknown projection name, listing the names, before touching anything', async () => {
    const before = await snapshot();
    await expect(replay({ projections: ['revenue', 'nope'], databaseUrl: svc.databaseUrl, out: new Collector() })).rejects.toThrow(ReplayUsageError);
    const out = new Collector();
    const err = new Collector();
    expect(await main(['nope'], { DATABASE_URL: svc.databaseUrl }, { out, err })).toBe(2);
    expect(err.text).toContain('unknown projection nope; projections: order_funnel, revenue, product_sales, stock_levels, live_orders');
    expect(await main(['revenue', '--from-position', 'x'], { DATABASE_URL: svc.databaseUrl }, { out, err })).toBe(2);
    expect(await main([], { DATABASE_URL: svc.databaseUrl }, { out, err })).toBe(2);
    expect(out.text).toBe('');
    expect(await snapshot()).toEqual(before);
  });

  it('rebuilds every projection from 0 while events arrive and reads never fail; checksums equal a fresh build', async () => {
    const headBefore = await svc.store.headPosition();
    // Damage live read models: only a rebuild puts them right, and reads must keep working meanwhile.
    await svc.db('live_orders').update({ status: 'damaged' });

    let running = true;
    const writer = (async () => {
      while (running) {
        await publishOrders(1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let reads = 0;
    const failures: string[] = [];
    const paths = [
      '/v1/orders/live?limit=50',
      '/v1/products/top?limit=5&by=revenue',
      '/v1/stock?sku=SKU-R1,SKU-R2',
      '/v1/funnel?from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z&bucket=hour',
      '/v1/revenue?from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z&bucket=day&currency=EUR',
      '/v1/sagas/latency?from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z&bucket=hour',
      '/v1/alerts/history',
      '/v1/projections',
    ];
    const reader = (async () => {
      while (running) {
        for (const p of paths) {
          try {
            const res = await svc.get(p, admin);
            if (res.status !== 200) failures.push(`${p}: ${res.status} ${JSON.stringify(res.json)}`);
            await svc.db('revenue_day').select('*');
            reads++;
          } catch (e) {
            failures.push(`${p}: ${(e as Error).message}`);
          }
        }
      }
    })();

    const out = new Collector();
    let report;
    try {
      report = await replay({ projections: [], all: true, databaseUrl: svc.databaseUrl, out, progress: 'lines', batchSize: 100 });
    } finally {
      running = false;
      await Promise.all([writer, reader]);
    }

    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
    expect(report.projections).toHaveLength(allProjections().length);
    for (const p of report.projections) {
      expect(p.from).toBe(0);
      expect(p.head).toBeGreaterThanOrEqual(headBefore);
      expect(p.rebuilt!.position).toBeGreaterThanOrEqual(p.head);
      expect(p.rebuilt!.checksum).toMatch(/^[0-9a-f]{32}$/);
      expect(p.rebuilt!.checksum).toBe(p.rebuilt!.expectedChecksum);
      expect(out.text).toContain(`${p.projection}: rebuilt checksum ${p.rebuilt!.checksum}, from-scratch checksum ${p.rebuilt!.checksum} OK`);
    }
    expect(out.text).toMatch(/ev\/s, ETA \d+s/);
    // Events kept arriving during the rebuild.
    expect(report.projections.at(-1)!.head).toBeGreaterThan(headBefore);

    // The live runners carry on from the swapped-in tables and end live with lag 0 ...
    await svc.waitConsumed(published);
    const head = await svc.projectionsCaughtUp();
    const status = await svc.get('/v1/projections', admin);
    expect(status.status).toBe(200);
    const statuses = status.json.items as { name: string; state: string; lag: number }[];
    expect(statuses).toHaveLength(allProjections().length);
    for (const s of statuses) expect(s).toMatchObject({ state: 'live', lag: 0 });
    // ... and the live tables equal a fresh full build of the whole archive.
    for (const projection of allProjections()) {
      expect(await checksumTables(svc.db, Object.keys(projection.tables))).toBe(await scratchChecksum(svc.db, svc.store, projection, head));
    }
    expect(await svc.db('live_orders').where({ status: 'damaged' })).toEqual([]);
  }, 120_000);

  it('rebuilds one projection from a position through the CLI entry point and verifies it', async () => {
    const head = await svc.store.headPosition();
    const from = Math.floor(head / 2);
    const out = new Collector();
    const err = new Collector();
    expect(await main(['product_sales', '--from-position', String(from)], { DATABASE_URL: svc.databaseUrl }, { out, err })).toBe(0);
    expect(err.text).toBe('');
    expect(out.text).toContain(`rebuilding product_sales (tables product_sales, product_sales_orders, product_sales_products) from position ${from}`);
    expect(out.text).toMatch(/product_sales: rebuilt checksum ([0-9a-f]{32}), from-scratch checksum \1 OK/);
    expect(out.text).toContain('replay done: product_sales rebuilt and verified');
  });
});
