import { randomUUID } from 'node:crypto';
import { CommitReservation, ReleaseStock, ReserveStock, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { ConsumedMessage, MessageProcessor } from '@shop/platform';
import type { ServiceUnderTest } from '@shop/platform/testing';
import { clearConsumerPacts, handleOnce } from '@shop/platform/testing/pacts';
import { expectContractMessage } from '@shop/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StockLedger } from '../src/stock/stock-ledger';
import { commandMessage, freshSku, inventoryProcess, startInventoryForTest } from './support';

const CONSUMER = 'inventory-service';

/**
 * The commands the inventory service consumes, as pacts with their producer
 * (the coordinator): each example goes through the service's real message
 * path (decode, inbox, handler, commit) on a real database, and must be
 * handled, not ignored or rejected.
 */
describe('inventory-service as a consumer (Pact)', () => {
  let running: ServiceUnderTest;
  let ledger: StockLedger;
  let processor: MessageProcessor;

  beforeAll(async () => {
    clearConsumerPacts(CONSUMER);
    running = await startInventoryForTest('inventory_pacts');
    ({ ledger, processor } = inventoryProcess(running.store));
  });
  afterAll(async () => {
    await running?.stop();
  });

  const handledOnce = (message: ConsumedMessage) => handleOnce(processor, message);
  const expect_ = <D extends MessageDefinition>(definition: D, state: string, data: MessageData<D>, handle: (m: ConsumedMessage) => Promise<void> = handledOnce) =>
    expectContractMessage(CONSUMER, { definition, state, data, handle });

  it('inventory.reserve-stock: reserves the lines', async () => {
    const sku = freshSku();
    await ledger.execute({ type: 'ReceiveStock', sku, quantity: 5, now: new Date().toISOString() });
    await expect_(ReserveStock, 'a place-order saga whose order is priced', { orderId: randomUUID(), lines: [{ sku, quantity: 2 }] }, async (m) => {
      await handledOnce(m);
      expect(await ledger.levels(sku)).toMatchObject({ reserved: 2 });
    });
  });

  /** An order whose 2 units of a fresh SKU (5 received) are reserved, through the same message path. */
  const reservedOrder = async () => {
    const sku = freshSku();
    const orderId = randomUUID();
    await ledger.execute({ type: 'ReceiveStock', sku, quantity: 5, now: new Date().toISOString() });
    await processor.handle(commandMessage(ReserveStock, { orderId, lines: [{ sku, quantity: 2 }] }));
    expect(await ledger.levels(sku)).toMatchObject({ reserved: 2 });
    return { sku, orderId };
  };

  it('inventory.release-stock: releases the reservation', async () => {
    const { sku, orderId } = await reservedOrder();
    await expect_(ReleaseStock, 'a place-order saga compensating after a declined payment', { orderId }, async (m) => {
      await handledOnce(m);
      expect(await ledger.levels(sku)).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    });
  });

  it('inventory.commit-reservation: sells the reserved lines', async () => {
    const { sku, orderId } = await reservedOrder();
    await expect_(CommitReservation, 'a place-order saga whose order was confirmed', { orderId }, async (m) => {
      await handledOnce(m);
      expect(await ledger.levels(sku)).toMatchObject({ onHand: 3, reserved: 0, sold: 2 });
    });
  });
});
