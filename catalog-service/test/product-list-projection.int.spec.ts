import { randomBytes } from 'node:crypto';
import { PostgresEventStore, ProjectionRunner, createKnex, eventStoreMigrations, runMigrations, type RecordedEvent } from '@shop/platform';
import { ProjectionSpecification, createTestDatabase, waitFor, type GivenEvent } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productStreamId, type ProductEvent } from '../src/products/product';
import { PRODUCT_TABLE, productListProjection } from '../src/products/read-models/product-list/projection';
import { ProductList } from '../src/products/read-models/product-list/query';

describe('product list projection', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    db = await createTestDatabase('catalog_projection');
    knex = createKnex(db);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    store = new PostgresEventStore({ connection: db });
    runner = new ProjectionRunner(knex, store, productListProjection);
    await runner.init();
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const sku = () => `P-${randomBytes(5).toString('hex').toUpperCase()}`;
  const at = '2026-03-01T10:00:00.000Z';
  const append = async (events: ProductEvent[]): Promise<RecordedEvent[]> => {
    const streamId = `product-${events[0]!.sku}`;
    await store.append(
      streamId,
      events.map(({ type, ...data }) => ({ type, data })),
    );
    return store.readStream(streamId);
  };
  const row = (s: string) => knex(PRODUCT_TABLE).where({ sku: s }).first();
  const applyTwice = async (event: RecordedEvent) => {
    for (let i = 0; i < 2; i++) {
      await knex.transaction((trx) => productListProjection.apply(event, { trx, table: (t) => t }));
    }
  };

  it('comes out the same applied in one page, in pages, and with every page and event twice', async () => {
    const given = (e: ProductEvent): GivenEvent => {
      const { type, ...data } = e;
      return { streamId: productStreamId(e.sku), type, data };
    };
    const eur = (amount: number) => ({ amount, currency: 'EUR' });
    const events: ProductEvent[] = [
      { type: 'ProductAdded', sku: 'MUG-1', name: 'Mug', description: '', category: 'kitchen', price: eur(1299), addedAt: at },
      { type: 'ProductAdded', sku: 'TEA-1', name: 'Green tea', description: 'Loose leaf.', category: 'tea', price: eur(450), addedAt: at },
      { type: 'ProductDetailsChanged', sku: 'MUG-1', name: 'Enamel mug', description: 'Holds 350 ml.', changedAt: at },
      { type: 'ProductPriceChanged', sku: 'TEA-1', price: eur(499), previousPrice: eur(450), changedAt: at },
      { type: 'ProductAdded', sku: 'POT-1', name: 'Teapot', description: 'Cast iron.', category: 'kitchen', price: eur(2500), addedAt: at },
      { type: 'ProductPriceChanged', sku: 'MUG-1', price: { amount: 1499, currency: 'USD' }, previousPrice: eur(1299), changedAt: at },
      { type: 'ProductDetailsChanged', sku: 'TEA-1', category: 'drinks', changedAt: at },
      { type: 'ProductDiscontinued', sku: 'MUG-1', discontinuedAt: '2026-03-02T10:00:00.000Z' },
    ];
    const rows = await ProjectionSpecification.for(productListProjection, { db: knex }).given(events.map(given)).rows();
    const products = [...rows[PRODUCT_TABLE]!].sort((a, b) => String(a.sku).localeCompare(String(b.sku)));
    expect(products).toEqual([
      {
        sku: 'MUG-1',
        name: 'Enamel mug',
        description: 'Holds 350 ml.',
        category: 'kitchen',
        price_amount: '1499',
        price_currency: 'USD',
        status: 'discontinued',
        added_at: new Date(at),
        discontinued_at: new Date('2026-03-02T10:00:00.000Z'),
        position: '8',
      },
      {
        sku: 'POT-1',
        name: 'Teapot',
        description: 'Cast iron.',
        category: 'kitchen',
        price_amount: '2500',
        price_currency: 'EUR',
        status: 'active',
        added_at: new Date(at),
        discontinued_at: null,
        position: '5',
      },
      {
        sku: 'TEA-1',
        name: 'Green tea',
        description: 'Loose leaf.',
        category: 'drinks',
        price_amount: '499',
        price_currency: 'EUR',
        status: 'active',
        added_at: new Date(at),
        discontinued_at: null,
        position: '7',
      },
    ]);
  });

  it('changes nothing when the same event is applied twice, and ignores an event older than the row', async () => {
    const s = sku();
    const [added, renamed, repriced, discontinued] = await append([
      { type: 'ProductAdded', sku: s, name: 'Mug', description: 'd', category: 'kitchen', price: { amount: 100, currency: 'EUR' }, addedAt: at },
      { type: 'ProductDetailsChanged', sku: s, name: 'Big mug', changedAt: at },
      { type: 'ProductPriceChanged', sku: s, price: { amount: 150, currency: 'EUR' }, previousPrice: { amount: 100, currency: 'EUR' }, changedAt: at },
      { type: 'ProductDiscontinued', sku: s, discontinuedAt: at },
    ]);
    await applyTwice(added!);
    const afterAdd = await row(s);
    await applyTwice(added!);
    expect(await row(s)).toEqual(afterAdd);

    await applyTwice(renamed!);
    await applyTwice(repriced!);
    const beforeStale = await row(s);
    expect(beforeStale).toMatchObject({ name: 'Big mug', description: 'd', price_amount: '150', status: 'active' });
    // A replayed older event must not undo a newer one.
    await applyTwice(renamed!);
    expect(await row(s)).toEqual(beforeStale);

    await applyTwice(discontinued!);
    expect(await row(s)).toMatchObject({ status: 'discontinued', price_amount: '150', position: String(discontinued!.position) });
  });

  it('follows the log through the runner and serves the list from it', async () => {
    const category = `c-${randomBytes(3).toString('hex')}`;
    const a = sku();
    const b = sku();
    await append([{ type: 'ProductAdded', sku: a, name: 'b', description: '', category, price: { amount: 1, currency: 'EUR' }, addedAt: at }]);
    await append([{ type: 'ProductAdded', sku: b, name: 'A', description: '', category, price: { amount: 2, currency: 'EUR' }, addedAt: at }]);
    await runner.start();
    const list = new ProductList(knex);
    await waitFor(async () => (await list.list({ limit: 10, category })).items.length === 2);
    expect((await runner.status()).lag).toBe(0);
    const firstPage = await list.list({ limit: 1, category });
    expect(firstPage.items).toHaveLength(1);
    const secondPage = await list.list({ limit: 1, category, after: firstPage.next! });
    expect([firstPage.items[0]!.sku, secondPage.items[0]!.sku].sort()).toEqual([a, b].sort());
    expect(secondPage.next).toBeNull();
  });

  it('rebuilds from the log into the same rows, more than once (no index name collides with the shadow table)', async () => {
    await waitFor(async () => (await runner.status()).lag === 0);
    const before = await knex(PRODUCT_TABLE).orderBy('sku');
    const first = await runner.rebuild();
    const second = await runner.rebuild();
    expect(second.checksum).toBe(first.checksum);
    expect(await knex(PRODUCT_TABLE).orderBy('sku')).toEqual(before);
  });
});
