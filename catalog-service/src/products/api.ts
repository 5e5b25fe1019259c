import { Money, ProductAdded, Sku } from '@shop/contracts';
import { defineRoute, integerParameter, type Route } from '@shop/platform';
import { z } from 'zod';
import type { Catalog } from './catalog';
import type { ListedProduct } from './product';
import { decodeCursor, encodeCursor, type ProductList } from './read-models/product-list/query';

// The limits of the published `catalog.product-added` message, so that
// nothing accepted here can fail to be published later.
const { name, description, category } = ProductAdded.schema.shape;

const productView = z
  .object({
    sku: Sku,
    name: z.string(),
    description: z.string(),
    category: z.string(),
    price: Money,
    status: z.enum(['active', 'discontinued']),
    addedAt: z.string(),
    discontinuedAt: z.string().optional(),
  })
  .meta({ id: 'Product' });

const skuParams = z.object({ sku: Sku });

const addProductBody = z.strictObject({ sku: Sku, name, description: description.default(''), category, price: Money });

const changeDetailsBody = z
  .strictObject({ name: name.optional(), description: description.optional(), category: category.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined || b.category !== undefined, {
    message: 'give at least one of name, description, category',
  });

const listQuery = z.object({
  limit: integerParameter(z.number().int().min(1).max(100)).default(20),
  cursor: z
    .string()
    .max(2_000)
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (cursor) return cursor;
      ctx.issues.push({ code: 'custom', message: 'not a cursor returned by a previous page', input: text });
      return z.NEVER;
    })
    .optional(),
  category: category.optional(),
  q: z.string().min(1).max(200).optional(),
});

const productPage = z.object({ items: z.array(productView), nextCursor: z.string().nullable() }).meta({ id: 'ProductPage' });

function view(product: ListedProduct): z.input<typeof productView> {
  const { status, sku, name, description, category, price, addedAt } = product;
  return {
    sku,
    name,
    description,
    category,
    price,
    status,
    addedAt,
    ...(product.status === 'discontinued' ? { discontinuedAt: product.discontinuedAt } : {}),
  };
}

const location = (sku: string) => `/v1/products/${sku}`;

export function productRoutes(catalog: Catalog, list: ProductList): Route[] {
  const tags = ['products'];
  return [
    defineRoute({
      method: 'POST',
      path: '/products',
      summary: 'Add a product to the catalog (admin)',
      description: 'Adding a SKU that already exists, even discontinued, is a 409.',
      tags,
      auth: ['admin'],
      request: { body: addProductBody },
      responses: { 201: productView },
      handler: async ({ body, auth, traceId }) => {
        const product = await catalog.add(body, { actor: auth.subject, traceId });
        return { status: 201, body: view(product), headers: { Location: location(product.sku) } };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/products/:sku',
      summary: "Change a product's name, description or category (admin)",
      tags,
      auth: ['admin'],
      request: { params: skuParams, body: changeDetailsBody },
      responses: { 200: productView },
      handler: async ({ params, body, auth, traceId }) => {
        const product = await catalog.changeDetails({ sku: params.sku, ...body }, { actor: auth.subject, traceId });
        return { status: 200, body: view(product) };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/products/:sku/price',
      summary: "Set a product's price (admin)",
      description: 'The same price changes nothing; a discontinued product is a 409. The currency may change.',
      tags,
      auth: ['admin'],
      request: { params: skuParams, body: Money },
      responses: { 200: productView },
      handler: async ({ params, body, auth, traceId }) => {
        const product = await catalog.changePrice({ sku: params.sku, price: body }, { actor: auth.subject, traceId });
        return { status: 200, body: view(product) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/products/:sku/discontinue',
      summary: 'Take a product off sale for good (admin)',
      description: 'Discontinuing a discontinued product changes nothing.',
      tags,
      auth: ['admin'],
      request: { params: skuParams },
      responses: { 200: productView },
      handler: async ({ params, auth, traceId }) => {
        const product = await catalog.discontinue({ sku: params.sku }, { actor: auth.subject, traceId });
        return { status: 200, body: view(product) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/products',
      summary: 'List the products for sale',
      description:
        'By name, then SKU. Filter by exact `category`; search `q` is a case-insensitive substring of the name. ' +
        'Pass `nextCursor` as `cursor` (with the same filters) for the next page. Served from a read model that may lag writes slightly.',
      tags,
      auth: 'public',
      request: { query: listQuery },
      responses: { 200: productPage },
      handler: async ({ query }) => {
        const page = await list.list({
          limit: query.limit,
          ...(query.cursor ? { after: query.cursor } : {}),
          ...(query.category !== undefined ? { category: query.category } : {}),
          ...(query.q !== undefined ? { q: query.q } : {}),
        });
        return { status: 200, body: { items: page.items.map(view), nextCursor: page.next ? encodeCursor(page.next) : null } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/products/:sku',
      summary: 'Read a product, for sale or discontinued',
      description: 'Read from the event stream: always reflects the latest write.',
      tags,
      auth: 'public',
      request: { params: skuParams },
      responses: { 200: productView },
      handler: async ({ params }) => ({ status: 200, body: view(await catalog.get(params.sku)) }),
    }),
  ];
}
