import { randomUUID } from 'node:crypto';
import { PriceOrderLines, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { ConsumedMessage, MessageProcessor } from '@shop/platform';
import { clearConsumerPacts, handleOnce } from '@shop/platform/testing/pacts';
import { expectContractMessage } from '@shop/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pricingStreamId } from '../src/pricing/pricing';
import { catalogProcess, freshSku, startCatalog, type Catalog } from './support';

const CONSUMER = 'catalog-service';

/**
 * The commands the catalog service consumes, as pacts with their producer
 * (the coordinator): each example goes through the service's real message
 * path (decode, inbox, handler, commit) on a real database, and must be
 * handled, not ignored or rejected.
 */
describe('catalog-service as a consumer (Pact)', () => {
  let catalog: Catalog;
  let processor: MessageProcessor;

  beforeAll(async () => {
    clearConsumerPacts(CONSUMER);
    catalog = await startCatalog('catalog_pacts');
    ({ processor } = catalogProcess(catalog.store));
  });
  afterAll(async () => {
    await catalog?.stop();
  });

  const handledOnce = (message: ConsumedMessage) => handleOnce(processor, message);
  const expect_ = <D extends MessageDefinition>(definition: D, state: string, data: MessageData<D>, handle: (m: ConsumedMessage) => Promise<void>) =>
    expectContractMessage(CONSUMER, { definition, state, data, handle });

  it('catalog.price-order-lines: prices the lines at the current prices', async () => {
    const sku = freshSku('MUG');
    expect((await catalog.admin('POST', '/v1/products', { sku, name: 'Mug', category: 'kitchen', price: { amount: 1299, currency: 'EUR' } })).status).toBe(201);
    const orderId = randomUUID();
    await expect_(PriceOrderLines, 'a place-order saga whose order was placed', { orderId, lines: [{ sku, quantity: 2 }] }, async (m) => {
      await handledOnce(m);
      const stored = await catalog.store.readStream(pricingStreamId(orderId));
      expect(stored.map((e) => [e.type, e.data])).toEqual([
        ['OrderLinesPriced', expect.objectContaining({ total: { amount: 2598, currency: 'EUR' } })],
      ]);
    });
  });
});
