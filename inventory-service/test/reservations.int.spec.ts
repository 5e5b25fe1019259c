import { randomUUID } from 'node:crypto';
import { CommitReservation, ReleaseStock, ReserveStock } from '@shop/contracts';
import { commitWork, decodeEnvelope, deterministicId, executeCommand, type ConsumedMessage, type EventStore, type Inbox } from '@shop/platform';
import type { ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMessages } from '../src/integration/outbound/to-messages';
import { reservationDecider, type ReservationCommand } from '../src/reservations/decide';
import { reservationCodec } from '../src/reservations/reservation';
import { reservationStreamId, type Reservations } from '../src/reservations/reservations';
import { StockLedger, stockStreamId } from '../src/stock/stock-ledger';
import { commandMessage, freshSku, inventoryProcess, startInventoryForTest } from './support';

describe('reservations through the inbound handler', () => {
  let running: ServiceUnderTest;
  let store: EventStore & Inbox;
  let ledger: StockLedger;
  let reservations: Reservations;
  let handle: (message: ConsumedMessage) => Promise<void>;
  const now = () => new Date().toISOString();

  beforeAll(async () => {
    running = await startInventoryForTest('inventory_reservations');
    store = running.store;
    // The platform's message path over these reservations, as the service's consumer runs it (one per process).
    ({ ledger, reservations, handle } = inventoryProcess(store));
  });
  afterAll(async () => {
    await running?.stop();
  });

  const stocked = async (quantity: number) => {
    const sku = freshSku();
    await ledger.execute({ type: 'ReceiveStock', sku, quantity, now: now() });
    return sku;
  };
  /** What a crashed run left on the order stream: one decision committed alone (ids derived from the message, as the real run's). */
  const recordOnOrder = (orderId: string, command: ReservationCommand, messageId?: string) =>
    commitWork(store, { ...(messageId ? { key: messageId } : {}), metadata: {} }, (work) =>
      work.decide(reservationStreamId(orderId), reservationDecider, command),
    );
  const orderEvents = async (orderId: string) => (await store.readStream(reservationStreamId(orderId))).map(reservationCodec.decode);
  const stockEventTypes = async (sku: string) => (await store.readStream(stockStreamId(sku))).map((e) => e.type);

  it('reserves all lines or none: one short line leaves nothing reserved and the failure names it', async () => {
    const [a, b] = [await stocked(5), await stocked(1)];
    const orderId = randomUUID();
    await handle(commandMessage(ReserveStock, { orderId, lines: [{ sku: a, quantity: 2 }, { sku: b, quantity: 3 }] }));

    expect((await reservations.load(orderId)).status).toBe('failed');
    expect(await orderEvents(orderId)).toContainEqual(
      expect.objectContaining({ type: 'ReservationFailed', shortages: [{ sku: b, requested: 3, available: 1 }] }),
    );
    expect(await ledger.levels(a)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    expect(await ledger.levels(b)).toMatchObject({ onHand: 1, reserved: 0, available: 1 });
  });

  it('names every short line, not only the first', async () => {
    const [a, b, c] = [await stocked(1), await stocked(9), await stocked(2)];
    const orderId = randomUUID();
    const lines = [{ sku: a, quantity: 4 }, { sku: b, quantity: 1 }, { sku: c, quantity: 5 }];
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    const [failed] = (await orderEvents(orderId)).flatMap((e) => (e.type === 'ReservationFailed' ? [e] : []));
    expect(failed!.shortages).toEqual(
      expect.arrayContaining([
        { sku: a, requested: 4, available: 1 },
        { sku: c, requested: 5, available: 2 },
      ]),
    );
    expect(failed!.shortages).toHaveLength(2);
    for (const sku of [a, b, c]) expect((await ledger.levels(sku)).reserved).toBe(0);
  });

  it('releases an unknown order as a no-op: no stock touched, a release of no lines recorded as the reply', async () => {
    const orderId = randomUUID();
    await handle(commandMessage(ReleaseStock, { orderId }));
    expect(await orderEvents(orderId)).toEqual([expect.objectContaining({ type: 'ReservationReleased', orderId, lines: [] })]);
    // And a reservation arriving after that release reserves nothing: no hold can leak.
    const sku = await stocked(3);
    await handle(commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 1 }] }));
    expect(await ledger.levels(sku)).toMatchObject({ reserved: 0, available: 3 });
  });

  it('commits an unknown order as a no-op', async () => {
    const orderId = randomUUID();
    await handle(commandMessage(CommitReservation, { orderId }));
    expect(await orderEvents(orderId)).toEqual([]);
  });

  it('reserves, then commits: the stock is sold and the accounting reconciles', async () => {
    const sku = await stocked(10);
    const orderId = randomUUID();
    await handle(commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 4 }] }));
    expect(await ledger.levels(sku)).toEqual({ onHand: 10, reserved: 4, available: 6, sold: 0, received: 10 });
    await handle(commandMessage(CommitReservation, { orderId }));
    expect(await ledger.levels(sku)).toEqual({ onHand: 6, reserved: 0, available: 6, sold: 4, received: 10 });
    expect((await reservations.load(orderId)).status).toBe('committed');
  });

  it('reserves, commits, then releases: the sold lines are restocked, with one stock-released reply listing them; a second release changes nothing', async () => {
    const [a, b] = [await stocked(10), await stocked(5)];
    const orderId = randomUUID();
    const lines = [{ sku: b, quantity: 1 }, { sku: a, quantity: 4 }, { sku: b, quantity: 1 }];
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    await handle(commandMessage(CommitReservation, { orderId }));
    expect(await ledger.levels(a)).toEqual({ onHand: 6, reserved: 0, available: 6, sold: 4, received: 10 });
    // Another order holds some of b meanwhile: the restock leaves its hold alone.
    const otherOrder = randomUUID();
    await handle(commandMessage(ReserveStock, { orderId: otherOrder, lines: [{ sku: b, quantity: 2 }] }));

    const release = commandMessage(ReleaseStock, { orderId, reason: 'cancelled by the customer' });
    await handle(release);
    expect(await ledger.levels(a)).toEqual({ onHand: 10, reserved: 0, available: 10, sold: 0, received: 10 });
    expect(await ledger.levels(b)).toEqual({ onHand: 5, reserved: 2, available: 3, sold: 0, received: 5 });
    expect((await reservations.load(orderId)).status).toBe('restocked');
    expect(await stockEventTypes(a)).toEqual(['StockReceived', 'StockReserved', 'StockReservationCommitted', 'StockRestocked']);
    const restockChanges = (await store.readStream(stockStreamId(b))).flatMap(toMessages).map(decodeEnvelope).filter((m) => m.data && (m.data as { cause?: string }).cause === 'restocked');
    expect(restockChanges.map((m) => m.data)).toEqual([expect.objectContaining({ sku: b, orderId, onHand: 5, reserved: 2, sold: 0, received: 5 })]);

    const released = async () => (await store.readStream(reservationStreamId(orderId))).flatMap(toMessages).map(decodeEnvelope).filter((m) => m.type === 'inventory.stock-released');
    expect((await released()).map((m) => m.data)).toEqual([{ orderId, lines }]);

    // The same message redelivered after a crash before its inbox row, and a second release: nothing changes, no second reply.
    await running.db('inbox_messages').where({ message_id: release.headers.ce_id }).delete();
    await handle(release);
    await handle(commandMessage(ReleaseStock, { orderId }));
    await handle(commandMessage(CommitReservation, { orderId }));
    expect(await released()).toHaveLength(1);
    expect(await stockEventTypes(a)).toEqual(['StockReceived', 'StockReserved', 'StockReservationCommitted', 'StockRestocked']);
    expect(await ledger.levels(a)).toEqual({ onHand: 10, reserved: 0, available: 10, sold: 0, received: 10 });
    expect(await ledger.levels(b)).toEqual({ onHand: 5, reserved: 2, available: 3, sold: 0, received: 5 });
  });

  it('a restock that crashed after recording it on the order stream is finished by the redelivery, once', async () => {
    const [a, b] = [await stocked(3), await stocked(3)];
    const orderId = randomUUID();
    const lines = [{ sku: a, quantity: 1 }, { sku: b, quantity: 2 }];
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    await handle(commandMessage(CommitReservation, { orderId }));
    const release = commandMessage(ReleaseStock, { orderId });
    const messageId = release.headers.ce_id!;
    // A process died after recording the restock and restocking only the first SKU (same derived ids as the real run).
    await recordOnOrder(orderId, { type: 'ReleaseOrderReservation', orderId, now: now() }, messageId);
    await ledger.execute({ type: 'RestockForOrder', sku: a, orderId, now: now() }, { key: messageId });
    expect(await ledger.levels(b)).toMatchObject({ onHand: 1, sold: 2 });

    await handle(release);
    expect((await orderEvents(orderId)).map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationSucceeded', 'ReservationCommitted', 'ReservationRestocked']);
    expect(await ledger.levels(a)).toEqual({ onHand: 3, reserved: 0, available: 3, sold: 0, received: 3 });
    expect(await ledger.levels(b)).toEqual({ onHand: 3, reserved: 0, available: 3, sold: 0, received: 3 });
    expect(await stockEventTypes(a)).toEqual(['StockReceived', 'StockReserved', 'StockReservationCommitted', 'StockRestocked']);
  });

  it('a release after a commit that crashed before settling its holds still leaves no hold and restocks everything', async () => {
    const [a, b] = [await stocked(3), await stocked(3)];
    const orderId = randomUUID();
    const lines = [{ sku: a, quantity: 1 }, { sku: b, quantity: 1 }];
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    // A committing process recorded the commit, sold only the first SKU, and died.
    await recordOnOrder(orderId, { type: 'CommitOrderReservation', orderId, now: now() });
    await ledger.execute({ type: 'CommitStockForOrder', sku: a, orderId, now: now() });

    await handle(commandMessage(ReleaseStock, { orderId }));
    for (const sku of [a, b]) expect(await ledger.levels(sku)).toEqual({ onHand: 3, reserved: 0, available: 3, sold: 0, received: 3 });
    expect((await reservations.load(orderId)).status).toBe('restocked');
  });

  it('reserves, then releases every line', async () => {
    const [a, b] = [await stocked(3), await stocked(3)];
    const orderId = randomUUID();
    const lines = [{ sku: b, quantity: 1 }, { sku: a, quantity: 2 }, { sku: b, quantity: 1 }];
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    expect(await ledger.levels(b)).toMatchObject({ reserved: 2 });
    await handle(commandMessage(ReleaseStock, { orderId }));
    expect(await orderEvents(orderId)).toContainEqual(expect.objectContaining({ type: 'ReservationReleased', lines }));
    expect(await ledger.levels(a)).toMatchObject({ reserved: 0, available: 3 });
    expect(await ledger.levels(b)).toMatchObject({ reserved: 0, available: 3 });
  });

  it('skips a message already in the inbox, and reserves once when the inbox missed it (crash before the inbox record)', async () => {
    const sku = await stocked(10);
    const orderId = randomUUID();
    const message = commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] });
    await handle(message);
    await handle(message);
    // The inbox row lost (purged, or written apart from the effect by an older version): the same message id runs again.
    await running.db('inbox_messages').where({ message_id: message.headers.ce_id }).delete();
    await handle(message);
    // Another message for the same order (the coordinator asked again).
    await handle(commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] }));
    expect(await stockEventTypes(sku)).toEqual(['StockReceived', 'StockReserved']);
    expect((await orderEvents(orderId)).map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationSucceeded']);
  });

  it('converges after a crash in the middle of reserving: the redelivery finishes the job, once', async () => {
    const [a, b] = [await stocked(2), await stocked(2)];
    const orderId = randomUUID();
    const lines = [{ sku: a, quantity: 1 }, { sku: b, quantity: 1 }];
    const message = commandMessage(ReserveStock, { orderId, lines });
    const messageId = message.headers.ce_id!;
    // What a writer without atomic commits (an older version of the service) left behind when it died
    // after its first line, with the event ids the message path derives for this message.
    const streamId = reservationStreamId(orderId);
    await executeCommand({
      store,
      streamId,
      decider: reservationDecider,
      command: { type: 'RequestOrderReservation', orderId, lines, now: now() },
      eventId: (i) => deterministicId(messageId, streamId, i),
    });
    await ledger.execute({ type: 'ReserveStockForOrder', sku: a, orderId, quantity: 1, now: now() }, { key: messageId });

    await handle(message);
    expect((await orderEvents(orderId)).map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationSucceeded']);
    expect(await ledger.levels(a)).toMatchObject({ reserved: 1 });
    expect(await ledger.levels(b)).toMatchObject({ reserved: 1 });
    expect(await stockEventTypes(a)).toEqual(['StockReceived', 'StockReserved']);
  });

  it('a release for an order whose reservation never finished finishes it, then releases it: no hold leaks', async () => {
    const [a, b] = [await stocked(2), await stocked(2)];
    const orderId = randomUUID();
    const lines = [{ sku: a, quantity: 1 }, { sku: b, quantity: 1 }];
    // A reserving process died after recording the request and holding only the first line.
    await recordOnOrder(orderId, { type: 'RequestOrderReservation', orderId, lines, now: now() });
    await ledger.execute({ type: 'ReserveStockForOrder', sku: a, orderId, quantity: 1, now: now() });

    await handle(commandMessage(ReleaseStock, { orderId }));
    expect((await orderEvents(orderId)).map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationSucceeded', 'ReservationReleased']);
    expect(await ledger.levels(a)).toMatchObject({ reserved: 0, available: 2 });
    expect(await ledger.levels(b)).toMatchObject({ reserved: 0, available: 2 });

    // The dead process's message is redelivered later: it changes nothing.
    await handle(commandMessage(ReserveStock, { orderId, lines }));
    expect(await ledger.levels(a)).toMatchObject({ reserved: 0 });
    expect(await ledger.levels(b)).toMatchObject({ reserved: 0 });
  });

  it('a reservation racing its own release never leaves a hold behind', async () => {
    for (let round = 0; round < 10; round++) {
      const skus = [await stocked(5), await stocked(5), await stocked(5)];
      const orderId = randomUUID();
      const lines = skus.map((sku) => ({ sku, quantity: 1 }));
      // Two stores/ledgers: two processes, so the in-process queues do not serialise them.
      const other = inventoryProcess(store).handle;
      await Promise.all([handle(commandMessage(ReserveStock, { orderId, lines })), other(commandMessage(ReleaseStock, { orderId }))]);
      const state = await reservations.load(orderId);
      expect(state.status).toBe('released');
      for (const sku of skus) expect(await new StockLedger(store).levels(sku)).toMatchObject({ reserved: 0, available: 5 });
    }
  });

  it('concurrent duplicate deliveries in two processes reserve once and record one outcome', async () => {
    const sku = await stocked(3);
    const orderId = randomUUID();
    const message = commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] });
    const second = inventoryProcess(store).handle;
    const results = await Promise.allSettled([handle(message), second(message)]);
    // A loser may give up with a concurrency error; the bus would redeliver it, and the rerun changes nothing.
    for (const r of results) if (r.status === 'rejected') await handle(message);
    expect(await stockEventTypes(sku)).toEqual(['StockReceived', 'StockReserved']);
    expect((await orderEvents(orderId)).map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationSucceeded']);
  });
});
