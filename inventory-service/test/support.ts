import { randomUUID } from 'node:crypto';
import { buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import { MessageProcessor, systemClock, type ConsumedMessage, type EventStore, type Inbox } from '@shop/platform';
import { startServiceForTest, type ServiceUnderTest } from '@shop/platform/testing';
import { inventoryService } from '../src/composition';
import { CONSUMER_GROUP, inventoryCommandHandlers } from '../src/integration/inbound/inventory-commands';
import { Reservations } from '../src/reservations/reservations';
import { StockLedger } from '../src/stock/stock-ledger';

/** The inventory service started in-process on fresh service and bus databases (the platform's test harness). */
export const startInventoryForTest = (label: string, env?: Record<string, string>): Promise<ServiceUnderTest> =>
  startServiceForTest(inventoryService, { label, ...(env ? { env } : {}) });

/**
 * What one process of the service runs for `inventory.commands`, on the
 * harness's event store: its own ledger (per-SKU queue and stream cache),
 * its reservations, and the platform's message path over them, so a test
 * can hand it messages directly. Two of them are two processes: their
 * in-process queues do not serialise each other.
 */
export function inventoryProcess(store: EventStore & Inbox) {
  const ledger = new StockLedger(store);
  const reservations = new Reservations(store, ledger, systemClock);
  const processor = new MessageProcessor({ consumer: CONSUMER_GROUP, handlers: inventoryCommandHandlers(reservations), store, inbox: store, cache: ledger.cache });
  return { ledger, reservations, processor, handle: (message: ConsumedMessage): Promise<void> => processor.handle(message) };
}

/** A fresh SKU per test, valid under the contracts' SKU pattern. */
export const freshSku = (prefix = 'T'): string => `${prefix}-${randomUUID().slice(0, 8).toUpperCase()}`;

export { commandMessage } from '@shop/contracts/testing';

/** Publishes a coordinator command on the bus, as the coordinator would. */
export function publishCommand<D extends MessageDefinition>(harness: ServiceUnderTest, definition: D, data: MessageData<D>, id: string = randomUUID()) {
  return harness.bus.publish([buildMessage(definition, data, { id, source: 'coordinator-service', correlationId: randomUUID() })]);
}
