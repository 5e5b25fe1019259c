import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, ProductAdded, SagaEnded, type OrderChannel } from '@shop/contracts';
import { checksumTables, type OutgoingMessage, type PublishedMessage } from '@shop/platform';
import { allProjections } from '../src/read-models/all-projections';
import { replay, scratchChecksum } from '../src/replay/replay-cli';
import { eur, message, startAnalytics, type AnalyticsUnderTest } from './support';

class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const START = Date.parse('2026-06-01T08:00:00.000Z');
const at = (s: number) => new Date(START + s * 1000).toISOString();
const SKUS = ['SKU-M1', 'SKU-M2', 'SKU-M3'];
const CHANNELS: OrderChannel[] = ['web', 'mobile', 'api'];

/**
 * One order's messages. Orders are placed in turns of three: by an order
 * service still publishing order.placed v1 (the rolling deploy's old
 * setting), then by two publishing v2 with a channel; then confirmed,
 * rejected or cancelled, and the saga's end.
 */
function orderMessages(i: number): { orderId: string; version: 1 | 2; channel: OrderChannel; messages: OutgoingMessage[] } {
  const orderId = randomUUID();
  const customerId = `c-${i % 7}`;
  const sku = SKUS[i % SKUS.length]!;
  const quantity = 1 + (i % 2);
  const unit = 250 * (1 + (i % SKUS.length));
  const version = i % 3 === 0 ? 1 : 2;
  const channel = CHANNELS[i % CHANNELS.length]!;
  const placed = { orderId, customerId, lines: [{ sku, quantity }], placedAt: at(i), channel };
  const messages = [message(OrderPlaced, placed, randomUUID(), version)];
  const line = { sku, quantity, unitPrice: eur(unit), lineTotal: eur(unit * quantity) };
  if (i % 4 === 3) {
    messages.push(message(OrderRejected, { orderId, customerId, reason: `${sku} is out of stock`, rejectedAt: at(i + 3) }));
  } else {
    messages.push(message(OrderConfirmed, { orderId, customerId, lines: [line], total: eur(unit * quantity), confirmedAt: at(i + 4) }));
    if (i % 5 === 0) messages.push(message(OrderCancelled, { orderId, customerId, reason: 'changed my mind', cancelledAt: at(i + 60) }));
  }
  const outcome = i % 4 === 3 ? 'rejected' : 'completed';
  messages.push(
    message(SagaEnded, {
      sagaId: `place-order-${orderId}`,
      sagaType: 'place-order',
      orderId,
      outcome,
      compensations: outcome === 'rejected' ? 1 : 0,
      startedAt: at(i),
      endedAt: at(i + 4),
      durationMs: 4_000,
    }),
  );
  // A v1 message says nothing of the channel: the upcaster reads it as 'api'.
  return { orderId, version, channel: version === 1 ? 'api' : channel, messages };
}

/**
 * Replay of an archive holding order.placed v1 and v2: the read models the
 * live path built from it (archive consumer, then projections, each reading
 * v1 through the contract's upcaster) are exactly what a rebuild from
 * scratch with the replay CLI's functions builds, table for table.
 */
describe('replay of an archive with order.placed v1 and v2', () => {
  let svc: AnalyticsUnderTest;
  let admin: string;
  const orders = Array.from({ length: 60 }, (_, i) => orderMessages(i));
  /** Each projection's checksum as the live path left it. */
  let live: Record<string, string>;

  const checksums = async () => Object.fromEntries(await Promise.all(allProjections().map(async (p) => [p.name, await checksumTables(svc.db, Object.keys(p.tables))] as const)));

  beforeAll(async () => {
    svc = await startAnalytics('analytics_mixed_replay');
    admin = await svc.token('admin');
    const published: PublishedMessage[] = [];
    published.push(
      ...(await svc.publish(SKUS.map((sku, i) => message(ProductAdded, { sku, name: `Mixed ${i}`, description: '', category: 'tools', price: eur(250 * (i + 1)), addedAt: at(-60) })))),
    );
    // In arrival order, a page at a time: the v1 and v2 messages interleave in the archive.
    for (let i = 0; i < orders.length; i += 10) published.push(...(await svc.publish(orders.slice(i, i + 10).flatMap((o) => o.messages))));
    await svc.waitConsumed(published);
    await svc.projectionsCaughtUp();
    live = await checksums();
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
  });

  it('archived both versions as they came', async () => {
    const placed = (await svc.store.readAll({ fromPosition: 0, maxCount: 10_000 })).events.filter((e) => e.type === OrderPlaced.type);
    expect(placed).toHaveLength(orders.length);
    expect(placed.filter((e) => e.schemaVersion === 1)).toHaveLength(orders.filter((o) => o.version === 1).length);
    expect(placed.filter((e) => e.schemaVersion === 2)).toHaveLength(orders.filter((o) => o.version === 2).length);
    for (const e of placed) expect('channel' in (e.data as object)).toBe(e.schemaVersion === 2);
  });

  it('lists every order with its channel, each v1 order as placed through the API', async () => {
    const res = await svc.get(`/v1/orders/live?limit=100`, admin);
    expect(res.status).toBe(200);
    const channels = Object.fromEntries((res.json.items as { orderId: string; channel: string }[]).map((o) => [o.orderId, o.channel]));
    expect(channels).toEqual(Object.fromEntries(orders.map((o) => [o.orderId, o.channel])));
    expect(new Set(orders.filter((o) => o.version === 1).map((o) => channels[o.orderId]))).toEqual(new Set(['api']));
  });

  it('rebuilds every projection from scratch to the checksums the live path gave', async () => {
    const out = new Collector();
    const report = await replay({ projections: [], all: true, databaseUrl: svc.databaseUrl, out, progress: 'off', batchSize: 50 });
    expect(report.ok).toBe(true);
    expect(report.projections.map((p) => p.projection)).toEqual(allProjections().map((p) => p.name));
    for (const p of report.projections) {
      expect(p.from).toBe(0);
      // Swapped in from position 0, equal to the live tables it replaced, and to a build in a throwaway schema.
      expect(p.rebuilt!.checksum, p.projection).toBe(live[p.projection]);
      expect(p.rebuilt!.expectedChecksum, p.projection).toBe(live[p.projection]);
    }
    expect(await checksums()).toEqual(live);
    const head = await svc.store.headPosition();
    for (const projection of allProjections()) expect(await scratchChecksum(svc.db, svc.store, projection, head), projection.name).toBe(live[projection.name]);

    // And the rebuilt live_orders still reads v1 orders as placed through the API.
    const res = await svc.get(`/v1/orders/live?limit=100`, admin);
    const channels = Object.fromEntries((res.json.items as { orderId: string; channel: string }[]).map((o) => [o.orderId, o.channel]));
    expect(orders.filter((o) => o.version === 1).every((o) => channels[o.orderId] === 'api')).toBe(true);
  }, 120_000);
});
