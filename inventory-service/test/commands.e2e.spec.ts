import { randomUUID } from 'node:crypto';
import { CommitReservation, ReleaseStock, ReserveStock, TOPICS, type MessageData, type MessageDefinition } from '@shop/contracts';
import { DEAD_LETTER_HEADERS, decodeEnvelope, type Consumer, type ConsumedMessage } from '@shop/platform';
import { waitFor, type ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSku, publishCommand, startInventoryForTest } from './support';

interface Reply {
  id: string;
  type: string;
  subject: string | undefined;
  data: Record<string, unknown>;
}

describe('inventory commands and replies through the bus', () => {
  let running: ServiceUnderTest;
  let admin: string;
  let listener: Consumer;
  let deadLetters: Consumer;
  const replies: Reply[] = [];
  const dead: ConsumedMessage[] = [];

  beforeAll(async () => {
    running = await startInventoryForTest('inventory_bus');
    admin = await running.token('admin');
    listener = running.bus.consumer({
      groupId: `test-listener-${randomUUID()}`,
      topics: [TOPICS.inventoryEvents],
      handler: async (message) => {
        const env = decodeEnvelope(message);
        replies.push({ id: env.id, type: env.type, subject: env.subject, data: env.data as Record<string, unknown> });
      },
    });
    deadLetters = running.bus.consumer({
      groupId: `test-dead-letters-${randomUUID()}`,
      topics: ['inventory-service.dead-letter'],
      handler: async (message) => {
        dead.push(message);
      },
    });
    await running.bus.createTopics([{ name: 'inventory-service.dead-letter', partitions: 1 }]);
    await Promise.all([listener.start(), deadLetters.start()]);
  });
  afterAll(async () => {
    await Promise.allSettled([listener?.stop(), deadLetters?.stop()]);
    await running?.stop();
  });

  const send = <D extends MessageDefinition>(definition: D, data: MessageData<D>, id?: string) => publishCommand(running, definition, data, id);
  const receive = async (sku: string, quantity: number) => {
    const res = await running.request('POST', `/v1/stock/${sku}/receipts`, { token: admin, body: { quantity }, headers: { 'idempotency-key': randomUUID() } });
    expect(res.status).toBe(200);
  };
  const levels = async (sku: string) => (await running.request('GET', `/v1/stock/${sku}`)).json as Record<string, number>;
  const repliesFor = (orderId: string, type: string) => replies.filter((r) => r.type === type && r.data.orderId === orderId);
  const reply = async (orderId: string, type: string) => {
    await waitFor(() => repliesFor(orderId, type).length > 0, 20_000);
    return repliesFor(orderId, type)[0]!;
  };

  it('reserves once and replies once to a command delivered three times with the same envelope id', async () => {
    const sku = freshSku();
    await receive(sku, 10);
    const orderId = randomUUID();
    const envelopeId = randomUUID();
    for (let i = 0; i < 3; i++) await send(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] }, envelopeId);
    // Same key, same partition, handled in order: once its reply is out, the three copies were handled.
    await send(CommitReservation, { orderId });
    await reply(orderId, 'inventory.reservation-committed');

    expect(repliesFor(orderId, 'inventory.stock-reserved')).toHaveLength(1);
    expect(repliesFor(orderId, 'inventory.stock-reserved')[0]!.data).toEqual({ orderId, lines: [{ sku, quantity: 2 }] });
    expect(await levels(sku)).toEqual({ sku, onHand: 8, reserved: 0, available: 8, sold: 2, received: 10 });
    await waitFor(() => replies.filter((r) => r.type === 'inventory.stock-level-changed' && r.data.sku === sku).length >= 3);
    const changes = replies.filter((r) => r.type === 'inventory.stock-level-changed' && r.data.sku === sku);
    expect(changes.map((c) => c.data.cause)).toEqual(['received', 'reserved', 'committed']);
    expect(changes[1]!.data).toMatchObject({ onHand: 10, reserved: 2, available: 8, sold: 0, received: 10, orderId });
    expect(changes[2]!.data).toMatchObject({ onHand: 8, reserved: 0, available: 8, sold: 2, received: 10, orderId });
    expect(changes.every((c) => c.subject === sku)).toBe(true);
  });

  it('reserves all lines or none: one short line fails the order, names the shortage and holds nothing', async () => {
    const [a, b] = [freshSku('A'), freshSku('B')];
    await receive(a, 5);
    await receive(b, 1);
    const orderId = randomUUID();
    await send(ReserveStock, { orderId, lines: [{ sku: a, quantity: 2 }, { sku: b, quantity: 3 }] });
    const failed = await reply(orderId, 'inventory.stock-reservation-failed');
    expect(failed.data).toEqual({ orderId, shortages: [{ sku: b, requested: 3, available: 1 }] });
    expect(repliesFor(orderId, 'inventory.stock-reserved')).toHaveLength(0);
    expect(await levels(a)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    expect(await levels(b)).toMatchObject({ onHand: 1, reserved: 0, available: 1 });
  });

  it('answers a release of an unknown order with no lines and changes no stock', async () => {
    const orderId = randomUUID();
    await send(ReleaseStock, { orderId, reason: 'payment declined' });
    const released = await reply(orderId, 'inventory.stock-released');
    expect(released.data).toEqual({ orderId, lines: [] });
    expect(replies.filter((r) => r.type === 'inventory.stock-level-changed' && r.data.orderId === orderId)).toHaveLength(0);
  });

  it('releases a reservation: the stock is available again and the reply lists the lines', async () => {
    const sku = freshSku();
    await receive(sku, 4);
    const orderId = randomUUID();
    await send(ReserveStock, { orderId, lines: [{ sku, quantity: 3 }] });
    await reply(orderId, 'inventory.stock-reserved');
    expect(await levels(sku)).toMatchObject({ reserved: 3, available: 1 });
    await send(ReleaseStock, { orderId });
    expect((await reply(orderId, 'inventory.stock-released')).data).toEqual({ orderId, lines: [{ sku, quantity: 3 }] });
    expect(await levels(sku)).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
  });

  it('restocks a committed order on release: the sold stock is back on hand and the reply lists the lines', async () => {
    const sku = freshSku();
    await receive(sku, 5);
    const orderId = randomUUID();
    await send(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] });
    await send(CommitReservation, { orderId });
    await reply(orderId, 'inventory.reservation-committed');
    await send(ReleaseStock, { orderId, reason: 'cancelled' });
    expect((await reply(orderId, 'inventory.stock-released')).data).toEqual({ orderId, lines: [{ sku, quantity: 2 }] });
    // The reply comes from the order's stream, which is written before the
    // SKU streams are brought in line (the crash-safe order): wait for them.
    await waitFor(async () => (await levels(sku)).sold === 0);
    expect(await levels(sku)).toEqual({ sku, onHand: 5, reserved: 0, available: 5, sold: 0, received: 5 });
    await waitFor(() => replies.some((r) => r.type === 'inventory.stock-level-changed' && r.data.sku === sku && r.data.cause === 'restocked'));
    const changes = replies.filter((r) => r.type === 'inventory.stock-level-changed' && r.data.sku === sku);
    expect(changes.map((c) => c.data.cause)).toEqual(['received', 'reserved', 'committed', 'restocked']);
    expect(changes[3]!.data).toMatchObject({ onHand: 5, reserved: 0, available: 5, sold: 0, received: 5, orderId });
  });

  it('dead-letters a message it cannot read, with the reason, and keeps consuming', async () => {
    await running.bus.publish([{ topic: TOPICS.inventoryCommands, key: 'x', value: '{}', headers: { ce_type: 'inventory.reserve-stock' } }]);
    await waitFor(() => dead.length > 0, 20_000);
    expect(dead[0]!.headers[DEAD_LETTER_HEADERS.error]).toMatch(/not a valid envelope/);
    const orderId = randomUUID();
    await send(ReleaseStock, { orderId });
    await reply(orderId, 'inventory.stock-released');
  });
});
