import { randomUUID } from 'node:crypto';
import { OrderLinesPriced, OrderLinesPricingRejected, PriceOrderLines, TOPICS, buildMessage, type MessageData } from '@shop/contracts';
import { DEAD_LETTER_HEADERS } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSku, listen, startCatalog, type Catalog } from './support';

const money = (amount: number, currency = 'EUR') => ({ amount, currency });
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('pricing order lines from the coordinator', () => {
  let catalog: Catalog;
  let replies: Awaited<ReturnType<typeof listen>>;
  const sku = { mug: freshSku('MUG'), tea: freshSku('TEA'), old: freshSku('OLD'), usd: freshSku('USD'), unknown: freshSku('NOPE') };

  beforeAll(async () => {
    catalog = await startCatalog('catalog_pricing');
    const add = async (s: string, price: { amount: number; currency: string }) =>
      expect((await catalog.admin('POST', '/v1/products', { sku: s, name: s, category: 'test', price })).status).toBe(201);
    await add(sku.mug, money(1299));
    await add(sku.tea, money(450));
    await add(sku.old, money(100));
    await add(sku.usd, money(999, 'USD'));
    expect((await catalog.admin('POST', `/v1/products/${sku.old}/discontinue`)).status).toBe(200);
    replies = await listen(catalog.bus, TOPICS.catalogEvents);
  });
  afterAll(async () => {
    await replies?.stop();
    await catalog?.stop();
  });

  const command = (data: MessageData<typeof PriceOrderLines>, correlationId = randomUUID()) =>
    buildMessage(PriceOrderLines, data, { id: randomUUID(), source: 'coordinator-service', correlationId, traceparent });
  const idOf = (message: { headers?: Record<string, string> }) => message.headers!.ce_id!;
  const replyFor = async (type: string, orderId: string) => {
    await waitFor(() => replies.ofType(type, orderId).length > 0, 20_000);
    return replies.ofType(type, orderId)[0]!;
  };

  it('prices every line at the current price and replies with catalog.order-lines-priced', async () => {
    const orderId = randomUUID();
    const correlationId = randomUUID();
    const message = command({ orderId, lines: [{ sku: sku.mug, quantity: 2 }, { sku: sku.tea, quantity: 3 }] }, correlationId);
    await catalog.bus.publish([message]);

    const reply = await replyFor(OrderLinesPriced.type, orderId);
    expect(reply.data).toEqual({
      orderId,
      lines: [
        { sku: sku.mug, quantity: 2, unitPrice: money(1299), lineTotal: money(2598) },
        { sku: sku.tea, quantity: 3, unitPrice: money(450), lineTotal: money(1350) },
      ],
      total: money(3948),
    });
    expect(reply.key).toBe(orderId);
    expect(reply.envelope).toMatchObject({ source: 'catalog-service', correlationid: correlationId, causationid: idOf(message), traceparent });

    const stored = await catalog.store.readStream(`pricing-${orderId}`);
    expect(stored.map((e) => e.type)).toEqual(['OrderLinesPriced']);
    expect(stored[0]!.id).toBe(reply.envelope.id);
  });

  it('rejects an order naming its unknown and discontinued SKUs, with a reason a customer can read', async () => {
    const orderId = randomUUID();
    await catalog.bus.publish([
      command({ orderId, lines: [{ sku: sku.mug, quantity: 1 }, { sku: sku.unknown, quantity: 1 }, { sku: sku.old, quantity: 2 }] }),
    ]);
    const reply = await replyFor(OrderLinesPricingRejected.type, orderId);
    const data = reply.data as MessageData<typeof OrderLinesPricingRejected>;
    expect(data).toMatchObject({ orderId, unknownSkus: [sku.unknown], discontinuedSkus: [sku.old] });
    expect(data.reason).toContain(sku.unknown);
    expect(data.reason).toContain(sku.old);
    expect(data.reason).toMatch(/not in our catalog.*no longer sold/);
    expect(replies.ofType(OrderLinesPriced.type, orderId)).toHaveLength(0);
  });

  it('rejects an order whose products are priced in different currencies', async () => {
    const orderId = randomUUID();
    await catalog.bus.publish([command({ orderId, lines: [{ sku: sku.mug, quantity: 1 }, { sku: sku.usd, quantity: 1 }] })]);
    const reply = await replyFor(OrderLinesPricingRejected.type, orderId);
    expect(reply.data).toMatchObject({ orderId, unknownSkus: [], discontinuedSkus: [] });
    expect((reply.data as { reason: string }).reason).toMatch(/different currencies \(EUR, USD\)/);
  });

  it('sees a discontinuation at once: pricing reads the product streams, not the read model', async () => {
    const s = freshSku('NOW');
    expect((await catalog.admin('POST', '/v1/products', { sku: s, name: s, category: 'test', price: money(10) })).status).toBe(201);
    expect((await catalog.admin('POST', `/v1/products/${s}/discontinue`)).status).toBe(200);
    const orderId = randomUUID();
    await catalog.bus.publish([command({ orderId, lines: [{ sku: s, quantity: 1 }] })]);
    expect((await replyFor(OrderLinesPricingRejected.type, orderId)).data).toMatchObject({ discontinuedSkus: [s], unknownSkus: [] });
  });

  it('decides once when the same command message is delivered three times', async () => {
    const orderId = randomUUID();
    const message = command({ orderId, lines: [{ sku: sku.tea, quantity: 1 }] });
    const published = await catalog.bus.publish([message, message, message]);
    // Wait until the catalog's group has committed past all three copies.
    await waitFor(async () => {
      const row = (await catalog
        .busDb('bus_group_offsets')
        .where({ group_id: 'catalog-service', topic: TOPICS.catalogCommands, partition: published[0]!.partition })
        .first('committed')) as { committed: string } | undefined;
      return row !== undefined && Number(row.committed) > published[2]!.offset;
    }, 20_000);

    const stream = await catalog.store.readStream(`pricing-${orderId}`);
    expect(stream.map((e) => e.type)).toEqual(['OrderLinesPriced']);
    expect(stream[0]!.metadata).toMatchObject({ causationId: idOf(message) });
    const inbox = await catalog.db('inbox_messages').where({ consumer: 'catalog-service', message_id: idOf(message) });
    expect(inbox).toHaveLength(1);
    await replyFor(OrderLinesPriced.type, orderId);
  });

  it('keeps the first answer when the coordinator asks again for the same order with a new message', async () => {
    const orderId = randomUUID();
    await catalog.bus.publish([command({ orderId, lines: [{ sku: sku.mug, quantity: 1 }] })]);
    await replyFor(OrderLinesPriced.type, orderId);
    // The price changes, then a second command (another message id) for the same order arrives.
    expect((await catalog.admin('PUT', `/v1/products/${sku.mug}/price`, money(1)).then((r) => r.status))).toBe(200);
    const again = command({ orderId, lines: [{ sku: sku.unknown, quantity: 1 }] });
    await catalog.bus.publish([again]);
    await waitFor(async () => (await catalog.db('inbox_messages').where({ message_id: idOf(again) })).length === 1, 20_000);

    const stream = await catalog.store.readStream(`pricing-${orderId}`);
    expect(stream).toHaveLength(1);
    expect(stream[0]!.data).toMatchObject({ total: money(1299) });
  });

  it('dead-letters a message that is not a catalog command, with the reason, and keeps going', async () => {
    const orderId = randomUUID();
    const stray = buildMessage(OrderLinesPriced, { orderId, lines: [{ sku: sku.mug, quantity: 1, unitPrice: money(1), lineTotal: money(1) }], total: money(1) }, {
      id: randomUUID(),
      source: 'catalog-service',
      correlationId: orderId,
    });
    const next = command({ orderId: randomUUID(), lines: [{ sku: sku.tea, quantity: 1 }] });
    await catalog.bus.publish([{ ...stray, topic: TOPICS.catalogCommands }, { ...next, key: stray.key }]);

    const dead = await listen(catalog.bus, 'catalog-service.dead-letter');
    try {
      await waitFor(() => dead.received.length > 0, 20_000);
      expect(dead.received[0]!.envelope.id).toBe(idOf(stray));
      const row = (await catalog
        .busDb('bus_messages')
        .where({ topic: 'catalog-service.dead-letter' })
        .first('headers')) as { headers: Record<string, string> };
      expect(row.headers[DEAD_LETTER_HEADERS.error]).toMatch(/does not handle catalog\.order-lines-priced/);
      expect(row.headers[DEAD_LETTER_HEADERS.attempts]).toBe('1');
    } finally {
      await dead.stop();
    }
    const nextOrder = JSON.parse(next.value) as { orderId: string };
    await replyFor(OrderLinesPriced.type, nextOrder.orderId);
  });
});
