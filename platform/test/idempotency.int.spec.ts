import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTokenVerifier, signToken, type AuthSettings } from '../src/auth/jwt';
import { NotFoundError } from '../src/errors/errors';
import { createHttpApp } from '../src/http/http-app';
import { startHttpServer, type RunningHttpServer } from '../src/http/http-server';
import { IdempotencyStore, idempotencyPurgeSchedule } from '../src/http/idempotency';
import { loadConfig, serviceConfigShape } from '../src/config/config';
import { idempotencyMigrations } from '../src/http/idempotency-migrations';
import { defineRoute } from '../src/http/routes';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';

const settings: AuthSettings = {
  secret: 'idempotency-test-secret-longer-than-32-bytes',
  issuer: 'urn:test',
  audience: 'urn:test:api',
};

/** Handler runs per idempotency key, so each test reads only its own count. */
const runs = new Map<string, number>();
const countRun = (key: string | undefined) => runs.set(key ?? '', (runs.get(key ?? '') ?? 0) + 1);
const runsOf = (key: string) => runs.get(key) ?? 0;
/** Keys whose handler fails with a 500 on its first run. */
const failFirst = new Set<string>();

function routes(handlerDelayMs: number) {
  return [
    defineRoute({
      method: 'POST',
      path: '/payments',
      summary: 'Authorize a payment',
      auth: ['customer'],
      idempotent: true,
      request: { body: z.object({ orderId: z.string(), amount: z.number().int().positive() }) },
      responses: { 201: z.object({ paymentId: z.uuid(), orderId: z.string(), amount: z.number() }) },
      handler: async ({ body, req }) => {
        const key = req.header('idempotency-key');
        countRun(key);
        await sleep(handlerDelayMs);
        if (key && failFirst.delete(key)) throw new Error('payment provider timed out');
        if (body.orderId === 'missing') throw new NotFoundError(`order ${body.orderId} does not exist`);
        const paymentId = randomUUID();
        return {
          status: 201,
          body: { paymentId, orderId: body.orderId, amount: body.amount },
          headers: { Location: `/v1/payments/${paymentId}` },
        };
      },
    }),
  ];
}

describe('Idempotency-Key', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let server: RunningHttpServer;
  let slowServer: RunningHttpServer;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    db = await createTestDatabase('idempotency');
    knex = createKnex(db, { max: 20 });
    await runMigrations(knex, 'http_idempotency', idempotencyMigrations);
    const common = { service: 'payments', version: '0.0.0', auth: createTokenVerifier(settings), logger: pino({ level: 'silent' }) };
    server = await startHttpServer(createHttpApp({ ...common, routes: routes(150), idempotency: new IdempotencyStore(knex) }));
    // Waits at most 300 ms for a concurrent twin, while the handler takes 1.5 s.
    slowServer = await startHttpServer(
      createHttpApp({ ...common, routes: routes(1_500), idempotency: new IdempotencyStore(knex, { waitMs: 300, retryAfterSeconds: 2 }) }),
    );
    alice = await signToken({ sub: `alice-${randomUUID()}`, roles: ['customer'] }, settings);
    bob = await signToken({ sub: `bob-${randomUUID()}`, roles: ['customer'] }, settings);
  });
  afterAll(async () => {
    await server?.close();
    await slowServer?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const pay = (key: string | undefined, body: unknown, options: { token?: string; target?: RunningHttpServer } = {}) =>
    fetch(`${(options.target ?? server).url}/v1/payments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${options.token ?? alice}`,
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  async function expectProblem(res: Response, status: number, kind: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { type: string; status: number; detail: string; errors?: unknown[] };
    expect(problem).toMatchObject({ type: `urn:shop:problem:${kind}`, status });
    return problem;
  }

  it('replays the first response to a retry with the same key and body, without running the handler again', async () => {
    const key = randomUUID();
    const first = await pay(key, { orderId: 'o-1', amount: 500 });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstText = await first.text();
    const firstBody: unknown = JSON.parse(firstText);

    // Same JSON with its keys in another order is the same request.
    const retry = await pay(key, '{"amount": 500, "orderId": "o-1"}');
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toMatch(/^application\/json/);
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect(await retry.text()).toBe(firstText);
    expect(runsOf(key)).toBe(1);

    const row = await knex('http_idempotency').where({ key }).first();
    expect(row).toMatchObject({ state: 'completed', response_status: 201, response_body: firstBody });
  });

  it('refuses the same key with a different body with 422', async () => {
    const key = randomUUID();
    expect((await pay(key, { orderId: 'o-2', amount: 500 })).status).toBe(201);
    const problem = await expectProblem(await pay(key, { orderId: 'o-2', amount: 999 }), 422, 'idempotency-key-reused');
    expect(problem.detail).toContain(key);
    expect(runsOf(key)).toBe(1);
  });

  it('requires a valid key', async () => {
    const missing = await expectProblem(await pay(undefined, { orderId: 'o-3', amount: 1 }), 400, 'validation');
    expect(missing.errors).toEqual([{ path: 'headers["idempotency-key"]', message: expect.stringContaining('required') }]);
    await expectProblem(await pay('k'.repeat(256), { orderId: 'o-3', amount: 1 }), 400, 'validation');
    await expectProblem(await pay('tab\there', { orderId: 'o-3', amount: 1 }), 400, 'validation');
  });

  it('runs the handler once for 10 identical concurrent requests, and all get the same response', async () => {
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 10 }, () => pay(key, { orderId: 'o-4', amount: 700 })));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(runsOf(key)).toBe(1);
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(bodies).size).toBe(1);
    expect(new Set(responses.map((r) => r.headers.get('location'))).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
  });

  it('lets a retry run the handler again after a 5xx', async () => {
    const key = randomUUID();
    failFirst.add(key);
    const failed = await pay(key, { orderId: 'o-5', amount: 100 });
    await expectProblem(failed, 500, 'internal');
    expect(await knex('http_idempotency').where({ key }).first()).toBeUndefined();

    const retried = await pay(key, { orderId: 'o-5', amount: 100 });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    const again = await pay(key, { orderId: 'o-5', amount: 100 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(runsOf(key)).toBe(2);
  });

  it('stores and replays a 4xx outcome', async () => {
    const key = randomUUID();
    const first = await expectProblem(await pay(key, { orderId: 'missing', amount: 1 }), 404, 'not-found');
    const replay = await pay(key, { orderId: 'missing', amount: 1 });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await expectProblem(replay, 404, 'not-found')).toEqual(first);
    expect(runsOf(key)).toBe(1);
  });

  it('scopes keys to the caller: another subject may use the same key', async () => {
    const key = randomUUID();
    const mine = await pay(key, { orderId: 'o-6', amount: 1 });
    const theirs = await pay(key, { orderId: 'o-6-other', amount: 2 }, { token: bob });
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(runsOf(key)).toBe(2);
  });

  it('answers 409 with Retry-After when the first request is still running after the wait', async () => {
    const key = randomUUID();
    const first = pay(key, { orderId: 'o-7', amount: 1 }, { target: slowServer });
    await sleep(100);
    const second = await pay(key, { orderId: 'o-7', amount: 1 }, { target: slowServer });
    await expectProblem(second, 409, 'idempotency-in-progress');
    expect(second.headers.get('retry-after')).toBe('2');
    expect((await first).status).toBe(201);
    const later = await pay(key, { orderId: 'o-7', amount: 1 }, { target: slowServer });
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(runsOf(key)).toBe(1);
  });

  it('takes over a claim left behind by a crashed request once it is stale', async () => {
    const key = randomUUID();
    const scope = `subject:${JSON.parse(Buffer.from(alice.split('.')[1]!, 'base64url').toString()).sub}`;
    const store = new IdempotencyStore(knex, { staleAfterMs: 1_000 });
    const request = { scope, key, requestHash: 'h' };
    // A claim whose process died: in progress, claimed two seconds ago.
    await knex.raw(
      `insert into http_idempotency (scope, key, request_hash, state, owner, claimed_at)
       values (?, ?, 'h', 'in_progress', ?, now() - interval '2 seconds')`,
      [scope, key, randomUUID()],
    );
    let ran = 0;
    const { response, replayed } = await store.execute(request, async () => {
      ran += 1;
      return { status: 200, headers: {}, body: { ok: true } };
    });
    expect({ ran, replayed, status: response.status }).toEqual({ ran: 1, replayed: false, status: 200 });
    expect(await store.execute(request, async () => ({ status: 500, headers: {} }))).toMatchObject({ replayed: true, response: { body: { ok: true } } });
  });

  it('expires completed records on its schedule, older than the retention only, and never a claim in progress', async () => {
    const scope = `subject:expiry-${randomUUID()}`;
    const insert = (key: string, state: 'completed' | 'in_progress', age: string) =>
      knex.raw(
        `insert into http_idempotency (scope, key, request_hash, state, owner, created_at, claimed_at, response_status, response_headers)
         values (?, ?, 'h', ?, ?, now() - ?::interval, now() - ?::interval, 200, '{}')`,
        [scope, key, state, randomUUID(), age, age],
      );
    await insert('old-done', 'completed', '2 hours');
    await insert('old-running', 'in_progress', '2 hours');
    await insert('recent-done', 'completed', '10 minutes');
    const logged: unknown[] = [];
    const schedule = idempotencyPurgeSchedule(new IdempotencyStore(knex), {
      retentionMs: 3_600_000,
      everyMs: 100,
      logger: { info: (o) => void logged.push(o), warn: (o) => void logged.push(o) },
    });
    schedule.start();
    try {
      const keysLeft = async () =>
        ((await knex('http_idempotency').where({ scope }).orderBy('key').pluck('key')) as string[]);
      const deadline = Date.now() + 5_000;
      while ((await keysLeft()).includes('old-done') && Date.now() < deadline) await sleep(50);
      expect(await keysLeft()).toEqual(['old-running', 'recent-done']);
      expect(logged).toContainEqual(expect.objectContaining({ deleted: expect.any(Number), retentionMs: 3_600_000 }));
    } finally {
      await schedule.stop();
    }
  });

  it('is on the service host schedule: IDEMPOTENCY_RETENTION and IDEMPOTENCY_PURGE_EVERY are part of every service configuration', () => {
    const config = loadConfig(serviceConfigShape, { SERVICE_NAME: 's', DATABASE_URL: 'postgres://u:p@h/d', SHOP_ENV: 'test', IDEMPOTENCY_RETENTION: '2h', IDEMPOTENCY_PURGE_EVERY: '30s' });
    expect({ retention: config.IDEMPOTENCY_RETENTION, every: config.IDEMPOTENCY_PURGE_EVERY }).toEqual({ retention: 7_200_000, every: 30_000 });
    expect(() => loadConfig(serviceConfigShape, { SERVICE_NAME: 's', DATABASE_URL: 'postgres://u:p@h/d', SHOP_ENV: 'test', IDEMPOTENCY_RETENTION: 'soon' })).toThrow(/IDEMPOTENCY_RETENTION/);
  });
});
