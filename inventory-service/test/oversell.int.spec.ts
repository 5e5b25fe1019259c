import { randomUUID } from 'node:crypto';
import { ReserveStock } from '@shop/contracts';
import type { ConsumedMessage, EventStore, Inbox } from '@shop/platform';
import type { ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reservations } from '../src/reservations/reservations';
import { stockCodec } from '../src/stock/stock';
import { stockStreamId, type StockLedger } from '../src/stock/stock-ledger';
import { commandMessage, freshSku, inventoryProcess, startInventoryForTest } from './support';

const RUNS = 5;
const STOCK = 100;
const ORDERS = 1_000;

describe('oversell: 1,000 concurrent one-unit reservations against 100 units of one SKU', () => {
  let running: ServiceUnderTest;
  let store: EventStore & Inbox;
  let ledger: StockLedger;
  let reservations: Reservations;
  let handle: (message: ConsumedMessage) => Promise<void>;

  beforeAll(async () => {
    running = await startInventoryForTest('inventory_oversell');
    store = running.store;
    // The platform's message path, as the service's consumer runs it.
    ({ ledger, reservations, handle } = inventoryProcess(store));
  });
  afterAll(async () => {
    await running?.stop();
  });

  for (let run = 1; run <= RUNS; run++) {
    it(`reserves exactly ${STOCK} and never oversells (run ${run} of ${RUNS}, fresh SKU)`, async () => {
      const sku = freshSku('HOT');
      await ledger.execute({ type: 'ReceiveStock', sku, quantity: STOCK, now: new Date().toISOString() });
      const orderIds: string[] = Array.from({ length: ORDERS }, () => randomUUID());

      const outcomes = await Promise.allSettled(
        orderIds.map((orderId) => handle(commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 1 }] }))),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);

      const states = await Promise.all(orderIds.map((id) => reservations.load(id)));
      expect(states.filter((s) => s.status === 'succeeded')).toHaveLength(STOCK);
      expect(states.filter((s) => s.status === 'failed')).toHaveLength(ORDERS - STOCK);

      expect(await ledger.levels(sku)).toEqual({ onHand: STOCK, reserved: STOCK, available: 0, sold: 0, received: STOCK });
      // The same figures from the raw stream, without the ledger's snapshot cache.
      const events = await store.readStream(stockStreamId(sku));
      const holds = events.map(stockCodec.decode).flatMap((e) => (e.type === 'StockReserved' ? [e.orderId] : []));
      expect(holds).toHaveLength(STOCK);
      expect(new Set(holds).size).toBe(STOCK);
      const succeeded = new Set(orderIds.filter((_, i) => states[i]!.status === 'succeeded'));
      expect(holds.every((id) => succeeded.has(id))).toBe(true);
      expect(events.filter((e) => e.type === 'StockReservationReleased')).toHaveLength(0);
    });
  }
});
