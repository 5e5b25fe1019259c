import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../src/errors/errors';
import { databaseReadiness } from '../src/http/health';
import { createHttpApp } from '../src/http/http-app';
import { startHttpServer, type RunningHttpServer } from '../src/http/http-server';
import { defineRoute } from '../src/http/routes';
import { integerParameter } from '../src/http/validation';
import { createTokenVerifier } from '../src/auth/jwt';
import { createKnex } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';

const MISSING_ORDER = '00000000-0000-4000-8000-000000000000';
const auth = { secret: 'a-test-secret-that-is-at-least-32-bytes-long', issuer: 'urn:test', audience: 'urn:test:api' };

const orderInput = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  note: z.record(z.string(), z.unknown()).optional(),
  items: z.array(z.unknown()).optional(),
});
const order = z.object({ id: z.uuid(), sku: z.string(), quantity: z.number() }).meta({ id: 'Order' });

function kitRoutes(calls: { placed: number }) {
  return [
    defineRoute({
      method: 'POST',
      path: '/orders',
      summary: 'Place an order',
      auth: 'public',
      request: { body: orderInput },
      responses: { 201: order },
      handler: ({ body }) => {
        calls.placed += 1;
        const id = randomUUID();
        return { status: 201, body: { id, sku: body.sku, quantity: body.quantity }, headers: { Location: `/v1/orders/${id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/orders/:id',
      summary: 'Read an order',
      auth: 'public',
      request: {
        params: z.object({ id: z.uuid() }),
        query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10) }),
      },
      responses: { 200: z.object({ id: z.string(), limit: z.number() }) },
      handler: ({ params, query }) => {
        if (params.id === MISSING_ORDER) throw new NotFoundError(`order ${params.id} does not exist`);
        return { status: 200, body: { id: params.id, limit: query.limit } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/pages',
      summary: 'A page',
      auth: 'public',
      request: { query: z.object({ offset: integerParameter(z.number().int().min(0)).optional(), q: z.string().max(100).optional() }) },
      responses: { 200: z.object({ offset: z.number().optional(), q: z.string().optional() }) },
      handler: ({ query }) => ({ status: 200, body: query }),
    }),
    defineRoute({
      method: 'GET',
      path: '/boom',
      summary: 'Fails unexpectedly',
      auth: 'public',
      responses: { 200: z.object({}) },
      handler: () => {
        throw new Error('connection to db-internal.example:5432 refused (password=hunter2)');
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/admin/stats',
      summary: 'Statistics',
      auth: ['admin'],
      responses: { 200: z.object({ orders: z.number() }) },
      handler: () => ({ status: 200, body: { orders: calls.placed } }),
    }),
  ];
}

/** A port nothing listens on (a PostgreSQL that is down). */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Routes whose database fails as a restart makes it fail: refused connections, and a backend terminated mid-query. */
function databaseFailureRoutes(db: Knex, downPort: number) {
  const down = createKnex({ host: '127.0.0.1', port: downPort, user: 'nobody', password: 'x', database: 'none' }, { max: 1 });
  return [
    defineRoute({
      method: 'POST',
      path: '/db-down',
      summary: 'Queries a database that refuses connections',
      auth: 'public',
      request: { body: z.object({}) },
      responses: { 200: z.object({}) },
      handler: async () => {
        await down.raw('select 1');
        return { status: 200, body: {} };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/db-terminated',
      summary: 'Its backend is terminated while it queries (PostgreSQL shutting down)',
      auth: 'public',
      responses: { 200: z.object({}) },
      handler: async () => {
        await db.raw('select pg_terminate_backend(pg_backend_pid())');
        return { status: 200, body: {} };
      },
    }),
  ];
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  traceId: string;
  errors?: { path: string; message: string }[];
  [key: string]: unknown;
}

async function expectProblem(res: Response, status: number, kind: string, instance?: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as Problem;
  expect(body).toMatchObject({ type: `urn:shop:problem:${kind}`, status });
  expect(body.title).toEqual(expect.any(String));
  expect(body.detail).toEqual(expect.any(String));
  expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
  if (instance !== undefined) expect(body.instance).toBe(instance);
  return body;
}

describe('HTTP kit', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let server: RunningHttpServer;
  const calls = { placed: 0 };
  const logLines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('http_kit');
    knex = createKnex(db);
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    const app = createHttpApp({
      service: 'kit-test',
      version: '1.2.3',
      routes: kitRoutes(calls),
      readiness: [databaseReadiness(knex)],
      logger,
      auth: createTokenVerifier(auth),
    });
    server = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const post = (body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${server.url}/v1/orders`, { method: 'POST', headers, body });

  describe('when the request is fine', () => {
    it('runs the handler with the validated body and returns its status, headers and body', async () => {
      const res = await post(JSON.stringify({ sku: 'SKU-1', quantity: 2 }));
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { id: string; sku: string; quantity: number };
      expect(body).toMatchObject({ sku: 'SKU-1', quantity: 2 });
      expect(res.headers.get('location')).toBe(`/v1/orders/${body.id}`);
    });

    it('accepts application/*+json bodies', async () => {
      const res = await post(JSON.stringify({ sku: 'SKU-2', quantity: 1 }), { 'content-type': 'application/vnd.shop+json; charset=utf-8' });
      expect(res.status).toBe(201);
    });

    it('coerces query strings where the schema says so and applies defaults', async () => {
      const id = randomUUID();
      const withLimit = await fetch(`${server.url}/v1/orders/${id}?limit=25`);
      expect(withLimit.status).toBe(200);
      expect(await withLimit.json()).toEqual({ id, limit: 25 });
      expect(await (await fetch(`${server.url}/v1/orders/${id}`)).json()).toEqual({ id, limit: 10 });
    });

    it('reads an integer parameter from its digits', async () => {
      expect(await (await fetch(`${server.url}/v1/pages?offset=7`)).json()).toEqual({ offset: 7 });
      expect(await (await fetch(`${server.url}/v1/pages?offset=-0`)).json()).toEqual({ offset: 0 });
      expect(await (await fetch(`${server.url}/v1/pages`)).json()).toEqual({});
    });
  });

  describe('when the client makes a mistake', () => {
    it.each(['', '%20', '%201', '1e3', '0x10', '1.5', 'Infinity', '9'.repeat(400), '1&offset=2'])(
      'refuses the integer parameter offset=%s, which z.coerce.number() would read as a number',
      async (text) => {
        const problem = await expectProblem(await fetch(`${server.url}/v1/pages?offset=${text}`), 400, 'validation');
        expect(problem.errors?.map((e) => e.path)).toEqual(['query.offset']);
      },
    );

    it('refuses the NUL character in a parameter or anywhere in a body (PostgreSQL stores it in neither text nor jsonb)', async () => {
      const query = await expectProblem(await fetch(`${server.url}/v1/pages?q=a%00b`), 400, 'validation');
      expect(query.errors).toEqual([{ path: 'query.q', message: 'the NUL character (U+0000) is not allowed' }]);
      const before = calls.placed;
      const value = await expectProblem(await post('{"sku": "a\\u0000b", "quantity": 1}'), 400, 'validation');
      expect(value.errors).toEqual([{ path: 'body.sku', message: 'the NUL character (U+0000) is not allowed' }]);
      const key = await expectProblem(await post('{"sku": "a", "quantity": 1, "note": {"k\\u0000": 1}}'), 400, 'validation');
      expect(key.errors?.map((e) => e.path)).toEqual(['body.note["k\\u0000"]']);
      expect(calls.placed).toBe(before);
    });

    it('answers a request line and headers over the limit with a 431 problem, before any route', async () => {
      const problem = await expectProblem(await fetch(`${server.url}/v1/pages?q=${'x'.repeat(20_000)}`), 431, 'request-header-fields-too-large');
      expect(problem.detail).toContain('16384');
      await expectProblem(await fetch(`${server.url}/v1/pages`, { headers: { 'x-padding': 'x'.repeat(20_000) } }), 431, 'request-header-fields-too-large');
      // The server still answers afterwards.
      expect((await fetch(`${server.url}/v1/pages?q=ok`)).status).toBe(200);
    });

    it('answers malformed JSON with 400', async () => {
      const problem = await expectProblem(await post('{"sku": "a",'), 400, 'malformed-json', '/v1/orders');
      expect(problem.detail).toMatch(/not valid JSON/);
    });

    it('answers a non-JSON body with 415', async () => {
      await expectProblem(await post('sku=a&quantity=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type');
      await expectProblem(await post('hello', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
    });

    it('answers a body over the limit with 413', async () => {
      const big = JSON.stringify({ sku: 'x'.repeat(2 * 1024 * 1024), quantity: 1 });
      const problem = await expectProblem(await post(big), 413, 'payload-too-large');
      expect(problem.detail).toContain('1048576');
    });

    it('counts the limit after decompression', async () => {
      const bomb = gzipSync(JSON.stringify({ sku: 'x'.repeat(2 * 1024 * 1024), quantity: 1 }));
      expect(bomb.length).toBeLessThan(64 * 1024);
      await expectProblem(await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 413, 'payload-too-large');
    });

    it.each([
      ['__proto__ at the top level', '{"__proto__": {"admin": true}, "sku": "a", "quantity": 1}', ['body.__proto__']],
      ['constructor at the top level', '{"constructor": {"prototype": {"admin": true}}, "sku": "a", "quantity": 1}', ['body.constructor.prototype', 'body.constructor']],
      ['__proto__ nested', '{"sku": "a", "quantity": 1, "note": {"deep": {"__proto__": {"x": 1}}}}', ['body.note.deep.__proto__']],
      ['constructor inside an array', '{"sku": "a", "quantity": 1, "items": [{"ok": 1}, {"constructor": 1}]}', ['body.items[1].constructor']],
    ])('refuses %s with a 400 naming the path', async (_case, json, paths) => {
      const before = calls.placed;
      const problem = await expectProblem(await post(json), 400, 'validation');
      expect(problem.errors?.map((e) => e.path)).toEqual(paths);
      expect(calls.placed).toBe(before);
    });

    it.each([
      ['1e400', 'number is out of range'],
      ['-1e400', 'number is out of range'],
      ['123456789012345678901234567890', 'outside the safe range'],
      ['9007199254740993', 'outside the safe range'],
    ])('refuses the number %s with a 400 naming the path', async (number, message) => {
      const problem = await expectProblem(await post(`{"sku": "a", "quantity": ${number}}`), 400, 'validation');
      expect(problem.errors).toEqual([{ path: 'body.quantity', message: expect.stringContaining(message) }]);
    });

    it('reports every failing field, across body, params and query', async () => {
      const problem = await expectProblem(await post(JSON.stringify({ sku: '', quantity: -1, extra: true })), 400, 'validation');
      expect(problem.errors?.map((e) => e.path).sort()).toEqual(['body.quantity', 'body.sku']);
      expect(problem.errors?.every((e) => e.message.length > 0)).toBe(true);

      const res = await fetch(`${server.url}/v1/orders/not-a-uuid?limit=abc`);
      const other = await expectProblem(res, 400, 'validation', '/v1/orders/not-a-uuid');
      expect(other.errors?.map((e) => e.path).sort()).toEqual(['params.id', 'query.limit']);
    });

    it('answers a missing body with 400', async () => {
      const problem = await expectProblem(await fetch(`${server.url}/v1/orders`, { method: 'POST' }), 400, 'validation');
      expect(problem.errors?.[0]?.path).toBe('body');
    });

    it('answers an unknown route with 404', async () => {
      await expectProblem(await fetch(`${server.url}/v1/nothing-here`), 404, 'not-found', '/v1/nothing-here');
      await expectProblem(await fetch(`${server.url}/v2/orders`), 404, 'not-found');
    });

    it('answers a wrong method on a known path with 405 and Allow', async () => {
      const res = await fetch(`${server.url}/v1/orders`, { method: 'DELETE' });
      await expectProblem(res, 405, 'method-not-allowed');
      expect(res.headers.get('allow')).toBe('POST, OPTIONS');
      const get = await fetch(`${server.url}/v1/orders/${randomUUID()}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      await expectProblem(get, 405, 'method-not-allowed');
      expect(get.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    });

    it('never answers a client mistake with a 5xx', async () => {
      const deep = '['.repeat(200_000) + ']'.repeat(200_000);
      const mistakes: [string, RequestInit][] = [
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"just a string"' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '12' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'not gzip' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'snappy' }, body: '{}' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'nonsense' }, body: '{}' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }],
        ['/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }],
        ['/v1/orders/%E0%A4%A', {}],
        ['/v1/orders/%zz', {}],
        ['/v1/orders?limit=1&limit=2', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' }],
        [`/v1/orders/${randomUUID()}?limit=1&limit=2`, {}],
        [`/v1/orders/${randomUUID()}?limit=${'9'.repeat(400)}`, {}],
        ['/v1/admin/stats', { headers: { authorization: 'Bearer nope' } }],
      ];
      for (const [path, init] of mistakes) {
        const res = await fetch(`${server.url}${path}`, init);
        expect(res.status, `${init.method ?? 'GET'} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(500);
        expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
        const body = (await res.json()) as Problem;
        expect(body.status).toBe(res.status);
      }
    });
  });

  describe('when the handler throws', () => {
    it('maps a PlatformError to its status', async () => {
      const problem = await expectProblem(await fetch(`${server.url}/v1/orders/${MISSING_ORDER}`), 404, 'not-found', `/v1/orders/${MISSING_ORDER}`);
      expect(problem.detail).toBe(`order ${MISSING_ORDER} does not exist`);
    });

    it('turns an unknown error into a generic 500 and logs it under the same trace id', async () => {
      const res = await fetch(`${server.url}/v1/boom`, { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const text = await res.text();
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('db-internal');
      expect(text).not.toMatch(/\bat .*\.ts:\d+/);
      const problem = JSON.parse(text) as Problem;
      expect(problem).toMatchObject({ type: 'urn:shop:problem:internal', status: 500, instance: '/v1/boom', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
      expect(Object.keys(problem).sort()).toEqual(['detail', 'instance', 'status', 'title', 'traceId', 'type']);

      const logged = logLines.map((line) => JSON.parse(line) as { traceId?: string; err?: { message: string; stack: string } });
      const entry = logged.find((l) => l.traceId === problem.traceId);
      expect(entry?.err?.message).toContain('hunter2');
      expect(entry?.err?.stack).toContain('http-kit.int.spec.ts');
    });
  });

  describe('when the database is unreachable', () => {
    // Its own app, so that the main one's OpenAPI document keeps its routes.
    let failing: RunningHttpServer;
    beforeAll(async () => {
      const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
      const app = createHttpApp({ service: 'kit-test', version: '1.2.3', routes: [...kitRoutes(calls), ...databaseFailureRoutes(knex, await closedPort())], logger, auth: createTokenVerifier(auth) });
      failing = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await failing?.close();
    });
    it('answers 503 with Retry-After (not a 500) while PostgreSQL refuses connections, and logs a warning', async () => {
      const res = await fetch(`${failing.url}/v1/db-down`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const problem = await expectProblem(res, 503, 'unavailable', '/v1/db-down');
      expect(res.headers.get('retry-after')).toBe('1');
      expect(problem.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      const logged = logLines.map((line) => JSON.parse(line) as { traceId?: string; level: number; msg: string; err?: { code?: string } });
      const entry = logged.find((l) => l.traceId === problem.traceId);
      expect(entry).toMatchObject({ level: 40, msg: 'request failed: database unavailable', err: { code: 'ECONNREFUSED' } });
    });

    it('answers 503 when its connection is cut mid-query (57P01, as a PostgreSQL shutdown does), and the next request is served', async () => {
      const problem = await expectProblem(await fetch(`${failing.url}/v1/db-terminated`), 503, 'unavailable', '/v1/db-terminated');
      const logged = logLines.map((line) => JSON.parse(line) as { traceId?: string; err?: { code?: string } });
      expect(logged.find((l) => l.traceId === problem.traceId)?.err?.code).toBe('57P01');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    });

    it('still answers an unknown error with a 500', async () => {
      expect((await fetch(`${failing.url}/v1/boom`)).status).toBe(500);
    });
  });

  describe('health', () => {
    it('answers liveness without touching dependencies', async () => {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('is ready when the database answers', async () => {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ready' });
    });

    it('is not ready with a 503 that says only that, and logs which checks failed and why', async () => {
      const logged: Record<string, unknown>[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
      const app = createHttpApp({
        service: 'not-ready',
        version: '0.0.0',
        routes: [],
        logger,
        readiness: [
          databaseReadiness(knex),
          { name: 'broker', check: () => Promise.reject(new Error('broker unreachable at 10.0.0.7:9092')) },
          { name: 'slow', check: () => new Promise(() => {}), timeoutMs: 100 },
        ],
      });
      const other = await startHttpServer(app);
      try {
        const res = await fetch(`${other.url}/readyz`);
        const text = await res.clone().text();
        const problem = await expectProblem(res, 503, 'not-ready', '/readyz');
        expect(problem.detail).toBe('not ready');
        expect(problem.checks).toBeUndefined();
        for (const secret of ['broker', 'slow', 'database', '10.0.0.7', 'timed out']) expect(text).not.toContain(secret);
        const entry = logged.find((l) => l.msg === 'not ready');
        expect(entry?.failing).toEqual(['broker', 'slow']);
        expect(entry?.checks).toEqual([
          expect.objectContaining({ name: 'database', status: 'ok' }),
          expect.objectContaining({ name: 'broker', status: 'fail', error: 'broker unreachable at 10.0.0.7:9092' }),
          expect.objectContaining({ name: 'slow', status: 'fail', error: 'timed out after 100 ms' }),
        ]);
      } finally {
        await other.close();
      }
    });
  });

  describe('OpenAPI', () => {
    it('serves an OpenAPI 3.1 document built from the route schemas', async () => {
      const res = await fetch(`${server.url}/v1/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        openapi: string;
        info: { title: string; version: string };
        paths: Record<string, Record<string, Record<string, unknown>>>;
        components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info).toEqual({ title: 'kit-test', version: '1.2.3' });
      expect(Object.keys(doc.paths).sort()).toEqual(['/v1/admin/stats', '/v1/boom', '/v1/orders', '/v1/orders/{id}', '/v1/pages']);

      const place = doc.paths['/v1/orders']!.post!;
      expect(place.requestBody).toMatchObject({
        content: {
          'application/json': {
            schema: { type: 'object', required: ['sku', 'quantity'], properties: { sku: { type: 'string', minLength: 1 }, quantity: { type: 'integer' } } },
          },
        },
      });
      expect(place.responses).toMatchObject({
        201: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } },
        400: { content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
        415: expect.any(Object),
        413: expect.any(Object),
      });
      expect(place.security).toEqual([]);

      const read = doc.paths['/v1/orders/{id}']!.get!;
      expect(read.parameters).toEqual([
        expect.objectContaining({ name: 'id', in: 'path', required: true, schema: expect.objectContaining({ format: 'uuid' }) }),
        expect.objectContaining({ name: 'limit', in: 'query', required: false, schema: expect.objectContaining({ type: 'integer', default: 10 }) }),
      ]);

      const stats = doc.paths['/v1/admin/stats']!.get!;
      expect(stats.security).toEqual([{ bearerAuth: [] }]);
      expect(stats.responses).toHaveProperty('401');
      expect(stats.responses).toHaveProperty('403');
      expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
      expect(doc.components.schemas).toHaveProperty('Order');
      expect(doc.components.schemas.Problem).toMatchObject({ type: 'object', required: expect.arrayContaining(['type', 'title', 'status']) });
    });
  });
});

describe('HTTP server shutdown', () => {
  function slowApp(started: () => void, delayMs: number | 'forever') {
    return createHttpApp({
      service: 'slow',
      version: '0.0.0',
      logger: pino({ level: 'silent' }),
      routes: [
        defineRoute({
          method: 'GET',
          path: '/slow',
          summary: 'Takes its time',
          auth: 'public',
          responses: { 200: z.object({ done: z.boolean() }) },
          handler: async () => {
            started();
            await new Promise((resolve) => (delayMs === 'forever' ? undefined : setTimeout(resolve, delayMs)));
            return { status: 200, body: { done: true } };
          },
        }),
      ],
    });
  }

  function connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  }

  it('lets an in-flight request finish, then refuses new connections', async () => {
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const server = await startHttpServer(slowApp(() => markStarted(), 500), { port: 0, host: '127.0.0.1' });
    const inFlight = fetch(`${server.url}/v1/slow`);
    await started;
    const closeStartedAt = Date.now();
    const closed = server.close(5_000);

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    expect(res.headers.get('connection')).toBe('close');
    await closed;
    expect(Date.now() - closeStartedAt).toBeGreaterThanOrEqual(400);
    await expect(connect(server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes idle keep-alive connections at once instead of waiting for their timeout', async () => {
    const server = await startHttpServer(slowApp(() => undefined, 0));
    const res = await fetch(`${server.url}/v1/slow`, { headers: { connection: 'keep-alive' } });
    expect(res.status).toBe(200);
    await res.json();
    const startedAt = Date.now();
    await server.close(10_000);
    // Node's keep-alive timeout is 5 s: an idle connection left open would hold close() that long.
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('destroys connections still busy when the timeout expires', async () => {
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const server = await startHttpServer(slowApp(() => markStarted(), 'forever'));
    const stuck = fetch(`${server.url}/v1/slow`).then(
      () => 'answered',
      () => 'cut off',
    );
    await started;
    const startedAt = Date.now();
    await server.close(200);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(await stuck).toBe('cut off');
  });
});

describe('mounted express handlers (HttpAppOptions.mounts)', () => {
  let server: RunningHttpServer;

  beforeAll(async () => {
    const app = createHttpApp({
      service: 'mounts',
      version: '0.0.0',
      logger: pino({ level: 'silent' }),
      routes: [
        defineRoute({
          method: 'GET',
          path: '/hello',
          summary: 'A typed route beside the mount',
          auth: 'public',
          responses: { 200: z.object({ from: z.string() }) },
          handler: () => ({ status: 200, body: { from: 'route' } }),
        }),
      ],
      mounts: [
        {
          path: '/static',
          router: async (req, res, next) => {
            if (req.path === '/page') res.type('text/html').send('<p>page</p>');
            else if (req.path === '/bad') throw new ValidationError('bad static request');
            else if (req.path === '/boom') throw new Error('secret cause');
            else next();
          },
        },
      ],
    });
    server = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves what the handler sends, beside the typed routes', async () => {
    const page = await fetch(`${server.url}/static/page`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toBe('<p>page</p>');
    expect(await (await fetch(`${server.url}/v1/hello`)).json()).toEqual({ from: 'route' });
  });

  it('turns what the handler throws into problems, and what it passes on into the 404', async () => {
    await expectProblem(await fetch(`${server.url}/static/bad`), 400, 'validation', '/static/bad');
    const boom = await expectProblem(await fetch(`${server.url}/static/boom`), 500, 'internal');
    expect(JSON.stringify(boom)).not.toContain('secret cause');
    await expectProblem(await fetch(`${server.url}/static/other`), 404, 'not-found', '/static/other');
  });
});
