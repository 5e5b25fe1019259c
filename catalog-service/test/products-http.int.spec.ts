import { randomBytes } from 'node:crypto';
import { waitFor, type TestResponse } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSku, startCatalog, type Catalog } from './support';

interface ProductBody {
  sku: string;
  name: string;
  description: string;
  category: string;
  price: { amount: number; currency: string };
  status: 'active' | 'discontinued';
  addedAt: string;
  discontinuedAt?: string;
}
interface Page {
  items: ProductBody[];
  nextCursor: string | null;
}
interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

const eur = (amount: number) => ({ amount, currency: 'EUR' });

describe('catalog HTTP API', () => {
  let catalog: Catalog;
  beforeAll(async () => {
    catalog = await startCatalog('catalog_http');
  });
  afterAll(() => catalog?.stop());

  const newProduct = (overrides: Partial<Omit<ProductBody, 'status' | 'addedAt'>> = {}) => ({
    sku: freshSku(),
    name: 'Enamel mug',
    description: 'Holds 350 ml.',
    category: 'kitchen',
    price: eur(1299),
    ...overrides,
  });
  const add = async (product: ReturnType<typeof newProduct>) => {
    const res = await catalog.admin('POST', '/v1/products', product);
    expect(res.status).toBe(201);
    return res.json as ProductBody;
  };
  const stream = (sku: string) => catalog.store.readStream(`product-${sku}`);
  const problem = async (res: TestResponse, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return res.json as Problem;
  };

  describe('admin writes', () => {
    it('adds a product: 201 with its Location, readable by anyone at once', async () => {
      const product = newProduct();
      const res = await catalog.admin('POST', '/v1/products', product);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v1/products/${product.sku}`);
      const body = res.json as ProductBody;
      expect(body).toMatchObject({ ...product, status: 'active' });
      expect(Date.parse(body.addedAt)).not.toBeNaN();

      const read = await catalog.call('GET', `/v1/products/${product.sku}`);
      expect(read.status).toBe(200);
      expect(read.json).toEqual(body);
      const events = await stream(product.sku);
      expect(events.map((e) => e.type)).toEqual(['ProductAdded']);
      expect(events[0]!.metadata).toMatchObject({ actor: 'alice' });
    });

    it('refuses to add an existing SKU with 409, leaving the product as it was', async () => {
      const product = newProduct();
      await add(product);
      const again = await catalog.admin('POST', '/v1/products', { ...product, name: 'Another name' });
      const p = await problem(again, 409);
      expect(p.detail).toContain(product.sku);
      expect(await stream(product.sku)).toHaveLength(1);
      expect(((await catalog.call('GET', `/v1/products/${product.sku}`)).json as ProductBody).name).toBe('Enamel mug');
    });

    it('changes details, recording only what differs', async () => {
      const product = newProduct();
      await add(product);
      const res = await catalog.admin('PATCH', `/v1/products/${product.sku}`, { name: 'Blue enamel mug', category: 'kitchen' });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ name: 'Blue enamel mug', category: 'kitchen', description: 'Holds 350 ml.' });
      const events = await stream(product.sku);
      expect(events.map((e) => e.type)).toEqual(['ProductAdded', 'ProductDetailsChanged']);
      expect(events[1]!.data).toEqual({ sku: product.sku, name: 'Blue enamel mug', changedAt: expect.any(String) });

      const unchanged = await catalog.admin('PATCH', `/v1/products/${product.sku}`, { name: 'Blue enamel mug' });
      expect(unchanged.status).toBe(200);
      expect(await stream(product.sku)).toHaveLength(2);
    });

    it('answers 404 for details or a price of an unknown SKU', async () => {
      const sku = freshSku();
      await problem(await catalog.admin('PATCH', `/v1/products/${sku}`, { name: 'x' }), 404);
      await problem(await catalog.admin('PUT', `/v1/products/${sku}/price`, eur(1)), 404);
      await problem(await catalog.admin('POST', `/v1/products/${sku}/discontinue`), 404);
      await problem(await catalog.call('GET', `/v1/products/${sku}`), 404);
      expect(await stream(sku)).toHaveLength(0);
    });

    it('changes the price with the previous one, and a repeat of the same price changes nothing', async () => {
      const product = newProduct();
      await add(product);
      const res = await catalog.admin('PUT', `/v1/products/${product.sku}/price`, eur(1499));
      expect(res.status).toBe(200);
      expect((res.json as ProductBody).price).toEqual(eur(1499));
      const same = await catalog.admin('PUT', `/v1/products/${product.sku}/price`, eur(1499));
      expect(same.status).toBe(200);
      const events = await stream(product.sku);
      expect(events.map((e) => e.type)).toEqual(['ProductAdded', 'ProductPriceChanged']);
      expect(events[1]!.data).toMatchObject({ price: eur(1499), previousPrice: eur(1299) });

      const usd = await catalog.admin('PUT', `/v1/products/${product.sku}/price`, { amount: 1499, currency: 'USD' });
      expect((usd.json as ProductBody).price).toEqual({ amount: 1499, currency: 'USD' });
    });

    it('discontinues once; afterwards its price and details are frozen (409) and it is still readable', async () => {
      const product = newProduct();
      await add(product);
      const res = await catalog.admin('POST', `/v1/products/${product.sku}/discontinue`);
      expect(res.status).toBe(200);
      const body = res.json as ProductBody;
      expect(body.status).toBe('discontinued');
      expect(Date.parse(body.discontinuedAt!)).not.toBeNaN();

      const twice = await catalog.admin('POST', `/v1/products/${product.sku}/discontinue`);
      expect(twice.status).toBe(200);
      expect((twice.json as ProductBody).discontinuedAt).toBe(body.discontinuedAt);
      expect((await problem(await catalog.admin('PUT', `/v1/products/${product.sku}/price`, eur(5)), 409)).detail).toMatch(/discontinued/);
      await problem(await catalog.admin('PATCH', `/v1/products/${product.sku}`, { name: 'x' }), 409);
      await problem(await catalog.admin('POST', '/v1/products', product), 409);
      expect((await stream(product.sku)).map((e) => e.type)).toEqual(['ProductAdded', 'ProductDiscontinued']);

      const read = (await catalog.call('GET', `/v1/products/${product.sku}`)).json as ProductBody;
      expect(read).toEqual(body);
    });
  });

  describe('public list and search', () => {
    const category = `cat-${randomBytes(4).toString('hex')}`;
    const names = ['Apple tea', 'Banana bread', 'Cherry jam', 'Damson jam', 'Elderflower cordial'];
    let skus: string[];
    let discontinuedSku: string;

    beforeAll(async () => {
      skus = [];
      for (const name of names) skus.push((await add(newProduct({ name, category }))).sku);
      discontinuedSku = (await add(newProduct({ name: 'Fig jam', category }))).sku;
      expect((await catalog.admin('POST', `/v1/products/${discontinuedSku}/discontinue`)).status).toBe(200);
      await add(newProduct({ name: 'Cherry jam', category: `${category}-other` }));
      // The list is a read model: wait until it has caught up with the writes above.
      await waitFor(async () => {
        const page = (await catalog.call('GET', `/v1/products?category=${category}-other`)).json as Page;
        const row = await catalog.db('catalog_products').where({ sku: discontinuedSku }).first('status');
        return page.items.length === 1 && (row as { status?: string } | undefined)?.status === 'discontinued';
      });
    });

    const list = async (query: string) => {
      const res = await catalog.call('GET', `/v1/products?${query}`);
      expect(res.status).toBe(200);
      return res.json as Page;
    };

    it('pages through a category by name with a cursor, leaving discontinued products out', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Page = await list(`category=${category}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((p) => p.name));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(names);
      const first = await list(`category=${category}&limit=1`);
      expect(first.items[0]).toMatchObject({ sku: skus[0], name: 'Apple tea', category, price: eur(1299), status: 'active' });
    });

    it('filters by category exactly', async () => {
      const other = await list(`category=${category}-other`);
      expect(other.items.map((p) => p.name)).toEqual(['Cherry jam']);
      expect(other.nextCursor).toBeNull();
      expect((await list(`category=${category.toUpperCase()}`)).items).toEqual([]);
    });

    it('searches names by case-insensitive substring, within a category or across all', async () => {
      expect((await list(`category=${category}&q=JAM`)).items.map((p) => p.name)).toEqual(['Cherry jam', 'Damson jam']);
      expect((await list(`category=${category}&q=eR`)).items.map((p) => p.name)).toEqual(['Cherry jam', 'Elderflower cordial']);
      const everywhere = await list(`q=cherry%20JAM&limit=100`);
      expect(everywhere.items.map((p) => p.category).sort()).toEqual([category, `${category}-other`].sort());
      expect((await list(`category=${category}&q=fig`)).items).toEqual([]);
      expect((await list(`q=${encodeURIComponent('%')}`)).items).toEqual([]);
    });

    it('shows a price change in the list once the read model has caught up', async () => {
      expect((await catalog.admin('PUT', `/v1/products/${skus[4]}/price`, eur(450))).status).toBe(200);
      await waitFor(async () => (await list(`category=${category}&q=elderflower`)).items[0]?.price.amount === 450);
      expect((await list(`category=${category}&q=elderflower`)).items).toHaveLength(1);
    });
  });

  describe('validation and auth', () => {
    it('answers invalid input with a 400 problem listing every error', async () => {
      const res = await catalog.admin('POST', '/v1/products', { sku: 'lower-case', name: '', price: { amount: -1, currency: 'euro' } });
      const p = await problem(res, 400);
      expect(p.type).toBe('urn:shop:problem:validation');
      const paths = p.errors!.map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['body.sku', 'body.name', 'body.category', 'body.price.amount', 'body.price.currency']));
    });

    it('refuses a fractional price, unknown fields, an empty change and a bad SKU in the path', async () => {
      const sku = (await add(newProduct())).sku;
      const fraction = await problem(await catalog.admin('PUT', `/v1/products/${sku}/price`, { amount: 12.5, currency: 'EUR' }), 400);
      expect(fraction.errors!.map((e) => e.path)).toEqual(['body.amount']);
      const unknown = await problem(await catalog.admin('PATCH', `/v1/products/${sku}`, { price: eur(1) }), 400);
      expect(unknown.errors!.length).toBeGreaterThan(0);
      const empty = await problem(await catalog.admin('PATCH', `/v1/products/${sku}`, {}), 400);
      expect(empty.errors![0]!.message).toMatch(/at least one/);
      const badPath = await problem(await catalog.call('GET', '/v1/products/not a sku'), 400);
      expect(badPath.errors!.map((e) => e.path)).toEqual(['params.sku']);
      expect(await catalog.store.readStream(`product-${sku}`)).toHaveLength(1);
    });

    it('refuses a bad page size or a forged cursor with 400', async () => {
      const p = await problem(await catalog.call('GET', '/v1/products?limit=0&cursor=bm90LWEtY3Vyc29y'), 400);
      expect(p.errors!.map((e) => e.path).sort()).toEqual(['query.cursor', 'query.limit']);
      await problem(await catalog.call('GET', '/v1/products?limit=101'), 400);
    });

    it('answers 401 without a token and 403 for a customer on admin routes', async () => {
      const product = newProduct();
      const anonymous = await catalog.call('POST', '/v1/products', { body: product });
      await problem(anonymous, 401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const bogus = await catalog.call('PUT', `/v1/products/${product.sku}/price`, { body: eur(1), token: 'not.a.token' });
      await problem(bogus, 401);

      const asCustomer = (method: string, path: string, body?: unknown) =>
        catalog.call(method, path, { body, token: catalog.customerToken });
      await problem(await asCustomer('POST', '/v1/products', product), 403);
      await problem(await asCustomer('PATCH', `/v1/products/${product.sku}`, { name: 'x' }), 403);
      await problem(await asCustomer('PUT', `/v1/products/${product.sku}/price`, eur(1)), 403);
      await problem(await asCustomer('POST', `/v1/products/${product.sku}/discontinue`), 403);
      expect(await catalog.store.readStream(`product-${product.sku}`)).toHaveLength(0);

      // The public reads need no token, and a customer's token does not hurt.
      expect((await asCustomer('GET', '/v1/products')).status).toBe(200);
      expect((await catalog.call('GET', '/v1/products')).status).toBe(200);
    });
  });

  describe('operations', () => {
    it('is ready once its database, bus and consumer are, and documents its API', async () => {
      const ready = await catalog.call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({ status: 'ready' });
      const doc = (await catalog.call('GET', '/v1/openapi.json')).json as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toMatch(/^3\.1/);
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/v1/products', '/v1/products/{sku}', '/v1/products/{sku}/price', '/v1/products/{sku}/discontinue']),
      );
    });
  });
});
