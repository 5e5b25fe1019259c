import { Sku } from '@shop/contracts';
import { defineRoute, deterministicId, IDEMPOTENCY_KEY_HEADER, type Clock, type Route } from '@shop/platform';
import type { Knex } from 'knex';
import { z } from 'zod';
import { stockLevelsOf } from './read-models/stock-levels/query';
import type { StockLedger } from './stock-ledger';
import { levelsOf } from './stock';

const skuParams = z.object({ sku: Sku });
const stockView = z
  .object({
    sku: z.string(),
    onHand: z.number().int(),
    reserved: z.number().int(),
    available: z.number().int(),
    sold: z.number().int(),
    received: z.number().int(),
  })
  .meta({ id: 'StockLevels' });
const availability = z
  .object({ sku: z.string(), onHand: z.number().int(), reserved: z.number().int(), available: z.number().int() })
  .meta({ id: 'StockAvailability' });

const receipt = z.object({ quantity: z.number().int().min(1).max(1_000_000) });
const adjustment = z.object({
  delta: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .refine((d) => d !== 0, { error: 'an adjustment delta is not zero' }),
  reason: z.string().trim().min(1).max(200),
});
const skuList = z.object({
  skus: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
    .pipe(z.array(Sku).min(1).max(100)),
});

export function stockRoutes(deps: { ledger: StockLedger; db: Knex; clock: Clock }): Route[] {
  const { ledger, db, clock } = deps;
  return [
    defineRoute({
      method: 'POST',
      path: '/stock/:sku/receipts',
      summary: 'Record received stock',
      description:
        'Adds the quantity to the stock received and on hand. Idempotent: the `Idempotency-Key` names the receipt (a delivery note number, say), ' +
        'and the same key on the same SKU counts the stock once — a retry gets the first answer; after the HTTP record has expired, the ' +
        'stream still knows the receipt, so a repeat with the same quantity changes nothing and one with another quantity is a 409.',
      tags: ['stock'],
      auth: ['admin'],
      idempotent: true,
      request: { params: skuParams, body: receipt },
      responses: { 200: stockView },
      handler: async ({ params, body, req }) => {
        const receiptId = deterministicId('receipt', params.sku, req.header(IDEMPOTENCY_KEY_HEADER)!);
        const state = await ledger.execute({ type: 'ReceiveStock', sku: params.sku, quantity: body.quantity, now: clock.now().toISOString(), receiptId });
        return { status: 200, body: { sku: params.sku, ...levelsOf(state) } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/stock/:sku/adjustments',
      summary: 'Adjust the stock on hand (count, damage, loss)',
      description: 'A 409 problem when the stock on hand would fall below zero or below what is reserved.',
      tags: ['stock'],
      auth: ['admin'],
      request: { params: skuParams, body: adjustment },
      responses: { 200: stockView },
      handler: async ({ params, body }) => {
        const state = await ledger.execute({
          type: 'AdjustStock',
          sku: params.sku,
          delta: body.delta,
          reason: body.reason,
          now: clock.now().toISOString(),
        });
        return { status: 200, body: { sku: params.sku, ...levelsOf(state) } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/stock/:sku',
      summary: 'Availability of one SKU, read from its stream (always current)',
      description: 'A SKU that never had stock reads as zeros, not 404: inventory does not know the catalog.',
      tags: ['stock'],
      auth: 'public',
      request: { params: skuParams },
      responses: { 200: stockView },
      handler: async ({ params }) => ({ status: 200, body: { sku: params.sku, ...(await ledger.levels(params.sku)) } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/stock',
      summary: 'Availability of several SKUs, from the stock-levels read model (eventually consistent)',
      tags: ['stock'],
      auth: 'public',
      request: { query: skuList },
      responses: { 200: z.object({ items: z.array(availability) }) },
      handler: async ({ query }) => ({ status: 200, body: { items: await stockLevelsOf(db, query.skus) } }),
    }),
  ];
}
