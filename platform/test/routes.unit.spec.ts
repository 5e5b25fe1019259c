import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTokenVerifier } from '../src/auth/jwt';
import { createHttpApp } from '../src/http/http-app';
import { openApiDocument } from '../src/http/openapi';
import { defineRoute } from '../src/http/routes';

const orderSchema = z.object({ id: z.string() });
const base = { service: 'routes', version: '0.0.0' };

describe('defineRoute', () => {
  it('types the handler from the schemas (checked by `npm run typecheck`)', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/orders/:id/lines',
      summary: 'Add a line',
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({ dryRun: z.stringbool().default(false) }),
        body: z.object({ sku: z.string(), quantity: z.number().int() }),
      },
      responses: { 201: orderSchema, 204: null },
      handler: async ({ params, query, body, auth }) => {
        const subject: string = auth.subject;
        const quantity: number = body.quantity;
        const dryRun: boolean = query.dryRun;
        if (dryRun) return { status: 204 };
        return { status: 201, body: { id: `${params.id}:${subject}:${quantity}` } };
      },
    });
    expect(route.responses).toHaveProperty('201');

    defineRoute({
      method: 'GET',
      path: '/orders',
      summary: 'Wrong status',
      auth: 'public',
      responses: { 200: orderSchema },
      // @ts-expect-error 404 is not a declared response
      handler: () => ({ status: 404, body: { id: 'x' } }),
    });
    defineRoute({
      method: 'GET',
      path: '/orders',
      summary: 'Wrong body',
      auth: 'public',
      responses: { 200: orderSchema },
      // @ts-expect-error id must be a string
      handler: () => ({ status: 200, body: { id: 1 } }),
    });
    defineRoute({
      method: 'GET',
      path: '/orders',
      summary: 'Public route: no guaranteed caller',
      auth: 'public',
      responses: { 200: orderSchema },
      handler: ({ auth }) => {
        // @ts-expect-error auth may be undefined on a public route
        const subject: string = auth.subject;
        return { status: 200, body: { id: subject } };
      },
    });
  });
});

describe('createHttpApp refuses a misconfiguration at start-up', () => {
  const secured = defineRoute({
    method: 'GET',
    path: '/secured',
    summary: 'Needs a caller',
    responses: { 200: orderSchema },
    handler: () => ({ status: 200, body: { id: 'x' } }),
  });

  it('an authenticated route without a token verifier', () => {
    expect(() => createHttpApp({ ...base, routes: [secured] })).toThrow(/GET \/v1\/secured requires authentication/);
  });

  it('an idempotent route without a store', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/payments',
      summary: 'Pay',
      auth: 'public',
      idempotent: true,
      responses: { 201: orderSchema },
      handler: () => ({ status: 201, body: { id: 'x' } }),
    });
    expect(() => createHttpApp({ ...base, routes: [route] })).toThrow(/POST \/v1\/payments is idempotent/);
  });

  it('the same route twice', () => {
    const auth = createTokenVerifier({ secret: 'x'.repeat(32), issuer: 'i', audience: 'a' });
    expect(() => createHttpApp({ ...base, auth, routes: [secured, secured] })).toThrow(/defined twice/);
  });

  it('a query schema that is not an object', () => {
    const route = defineRoute({
      method: 'GET',
      path: '/search',
      summary: 'Search',
      auth: 'public',
      request: { query: z.string() },
      responses: { 200: orderSchema },
      handler: () => ({ status: 200, body: { id: 'x' } }),
    });
    expect(() => openApiDocument([route], { title: 't', version: '1' })).toThrow(/query schema of a route must be a z.object/);
  });
});
