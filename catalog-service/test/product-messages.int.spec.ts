import { ProductAdded, ProductDiscontinued, ProductPriceChanged, TOPICS } from '@shop/contracts';
import { waitFor } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSku, listen, startCatalog, type Catalog } from './support';

describe('product facts published through the outbox', () => {
  let catalog: Catalog;
  let events: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    catalog = await startCatalog('catalog_facts');
    events = await listen(catalog.bus, TOPICS.catalogEvents);
  });
  afterAll(async () => {
    await events?.stop();
    await catalog?.stop();
  });

  it('publishes added, price-changed and discontinued facts keyed by SKU, in order; details changes stay inside', async () => {
    const sku = freshSku();
    const price = { amount: 2500, currency: 'EUR' };
    expect((await catalog.admin('POST', '/v1/products', { sku, name: 'Teapot', description: 'Cast iron.', category: 'kitchen', price })).status).toBe(201);
    expect((await catalog.admin('PATCH', `/v1/products/${sku}`, { name: 'Cast iron teapot' })).status).toBe(200);
    expect((await catalog.admin('PUT', `/v1/products/${sku}/price`, { amount: 2700, currency: 'EUR' })).status).toBe(200);
    expect((await catalog.admin('POST', `/v1/products/${sku}/discontinue`)).status).toBe(200);

    await waitFor(() => events.ofType(ProductDiscontinued.type, sku).length === 1, 20_000);
    const mine = events.received.filter((m) => m.key === sku);
    expect(mine.map((m) => m.envelope.type)).toEqual([ProductAdded.type, ProductPriceChanged.type, ProductDiscontinued.type]);

    const stored = await catalog.store.readStream(`product-${sku}`);
    expect(stored.map((e) => e.type)).toEqual(['ProductAdded', 'ProductDetailsChanged', 'ProductPriceChanged', 'ProductDiscontinued']);
    // Each message carries its event's id, so a republished page is recognisable downstream.
    expect(mine.map((m) => m.envelope.id)).toEqual([stored[0]!.id, stored[2]!.id, stored[3]!.id]);

    expect(mine[0]!.data).toEqual({ sku, name: 'Teapot', description: 'Cast iron.', category: 'kitchen', price, addedAt: expect.any(String) });
    expect(mine[1]!.data).toEqual({ sku, price: { amount: 2700, currency: 'EUR' }, previousPrice: price, changedAt: expect.any(String) });
    expect(mine[2]!.data).toEqual({ sku, discontinuedAt: expect.any(String) });
    for (const m of mine) expect(m.envelope).toMatchObject({ source: 'catalog-service', subject: sku, schemaversion: 1 });
  });

  it('publishes nothing for a command that decides nothing', async () => {
    const sku = freshSku();
    expect((await catalog.admin('POST', '/v1/products', { sku, name: 'Kettle', category: 'kitchen', price: { amount: 100, currency: 'EUR' } })).status).toBe(201);
    expect((await catalog.admin('PUT', `/v1/products/${sku}/price`, { amount: 100, currency: 'EUR' })).status).toBe(200);
    expect((await catalog.admin('POST', `/v1/products/${sku}/discontinue`)).status).toBe(200);
    expect((await catalog.admin('POST', `/v1/products/${sku}/discontinue`)).status).toBe(200);
    expect((await catalog.store.readStream(`product-${sku}`)).map((e) => e.type)).toEqual(['ProductAdded', 'ProductDiscontinued']);
    // The relay is caught up with the store: nothing else for this SKU is on its way.
    const head = await catalog.store.headPosition();
    await waitFor(async () => {
      const row = (await catalog.db('outbox_checkpoints').where({ relay: 'catalog-service' }).first('position')) as { position: string };
      return Number(row.position) >= head;
    }, 20_000);
    // The relay publishes before it moves its checkpoint, so the bus now holds all there will be.
    const onBus = (await catalog.busDb('bus_messages').where({ topic: TOPICS.catalogEvents, key: sku }).orderBy('offset')) as {
      headers: Record<string, string>;
    }[];
    expect(onBus.map((m) => m.headers.ce_type)).toEqual([ProductAdded.type, ProductDiscontinued.type]);
  });
});
