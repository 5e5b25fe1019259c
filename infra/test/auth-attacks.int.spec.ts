import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import type { Role } from '@shop/platform';
import { startServiceForTest, TEST_AUTH, type ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_PROCESS_SERVICES } from './support/in-process-services';
import { orderService } from '../../order-service/src/composition';

/**
 * Auth attacks on every secured route of every service, as each service's
 * OpenAPI document lists them: no token, malformed ones, `alg: none`,
 * HS/RS algorithm confusion, a wrong key, expired, not yet valid, wrong
 * issuer or audience, a role added to a tampered payload, missing claims,
 * unknown roles — each forged for an admin and for a customer. Every one
 * must be a 401 (a valid token without the route's role a 403), and none
 * may reach a handler. Then every customer route with another customer's
 * ids: 404 exactly as for an id that does not exist, so an answer never
 * tells whether another customer's resource exists.
 */

interface Operation {
  security?: unknown[];
  'x-roles'?: Role[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

const SERVICES = IN_PROCESS_SERVICES;

const key = new TextEncoder().encode(TEST_AUTH.secret);
const now = () => Math.floor(Date.now() / 1000);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

interface Claims {
  sub?: string;
  roles?: unknown;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
}
const claimsFor = (role: Role, overrides: Claims = {}): Claims => ({
  sub: `${role}-attacker-${randomUUID().slice(0, 8)}`,
  roles: [role],
  iss: TEST_AUTH.issuer,
  aud: TEST_AUTH.audience,
  iat: now(),
  exp: now() + 3_600,
  ...overrides,
});
const sign = (claims: Claims, alg = 'HS256', signingKey: Uint8Array | import('node:crypto').KeyObject = key) =>
  new SignJWT(claims as Record<string, unknown>).setProtectedHeader({ alg, typ: 'JWT' }).sign(signingKey);
const segment = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Each attack builds an `Authorization` header value (or none) for a forged principal of `role`. */
const ATTACKS: { name: string; header(role: Role): Promise<string | undefined> }[] = [
  { name: 'no token', header: async () => undefined },
  { name: 'empty bearer', header: async () => 'Bearer ' },
  { name: 'malformed: not a JWT', header: async () => 'Bearer not-a-token' },
  { name: 'malformed: three garbage segments', header: async () => 'Bearer a.b.c' },
  { name: 'malformed: undecodable JSON segments', header: async () => `Bearer ${base64url.encode('{"alg":')}.${base64url.encode('{')}.x` },
  { name: 'another scheme', header: async (role) => `Basic ${Buffer.from(`${role}:${TEST_AUTH.secret}`).toString('base64')}` },
  { name: 'alg none, no signature', header: async (role) => `Bearer ${segment({ alg: 'none', typ: 'JWT' })}.${segment(claimsFor(role))}.` },
  { name: 'alg None, forged signature', header: async (role) => `Bearer ${segment({ alg: 'None' })}.${segment(claimsFor(role))}.${base64url.encode('sig')}` },
  { name: 'RS256 with an attacker key', header: async (role) => `Bearer ${await sign(claimsFor(role), 'RS256', rsa.privateKey)}` },
  { name: 'HS/RS confusion: HS256 keyed with an RSA public key', header: async (role) => `Bearer ${await sign(claimsFor(role), 'HS256', new TextEncoder().encode(rsaPublicPem))}` },
  { name: 'HS512 with the right secret (algorithm not pinned)', header: async (role) => `Bearer ${await sign(claimsFor(role), 'HS512')}` },
  { name: 'wrong key', header: async (role) => `Bearer ${await sign(claimsFor(role), 'HS256', new TextEncoder().encode('another-secret-that-is-also-32-bytes-long'))}` },
  { name: 'expired', header: async (role) => `Bearer ${await sign(claimsFor(role, { iat: now() - 7_200, exp: now() - 60 }))}` },
  { name: 'not yet valid', header: async (role) => `Bearer ${await sign(claimsFor(role, { nbf: now() + 600 }))}` },
  { name: 'wrong issuer', header: async (role) => `Bearer ${await sign(claimsFor(role, { iss: 'urn:attacker' }))}` },
  { name: 'wrong audience', header: async (role) => `Bearer ${await sign(claimsFor(role, { aud: 'urn:another:api' }))}` },
  { name: 'no exp', header: async (role) => `Bearer ${await sign({ ...claimsFor(role), exp: undefined })}` },
  { name: 'no sub', header: async (role) => `Bearer ${await sign({ ...claimsFor(role), sub: undefined })}` },
  { name: 'unknown role, signed', header: async () => `Bearer ${await sign(claimsFor('admin', { roles: ['superuser'] }))}` },
  {
    name: 'role added to a tampered payload',
    header: async () => {
      const [head, , signature] = (await sign(claimsFor('customer'))).split('.');
      return `Bearer ${head}.${segment(claimsFor('customer', { roles: ['customer', 'admin'] }))}.${signature}`;
    },
  },
  {
    name: 'signature stripped',
    header: async (role) => `Bearer ${(await sign(claimsFor(role))).split('.').slice(0, 2).join('.')}.`,
  },
];

const BODY_METHODS = new Set(['post', 'put', 'patch']);
const outcomes: { service: string; attempts: number; succeeded: string[]; unexpected: string[] }[] = [];

describe('auth attacks on every secured route', () => {
  describe.each(SERVICES)('$name', ({ name, start }) => {
    let svc: ServiceUnderTest;
    beforeAll(async () => {
      svc = await start(`auth_${name.replace(/-service$/, '')}`);
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('answers every forged, broken or missing token with 401 and a valid token without the role with 403', { timeout: 180_000 }, async () => {
      const doc = (await (await fetch(`${svc.url}/v1/openapi.json`)).json()) as OpenApiDocument;
      const customer = await svc.token('customer');
      let attempts = 0;
      const succeeded: string[] = [];
      const unexpected: string[] = [];
      const routes = Object.entries(doc.paths).flatMap(([template, item]) =>
        Object.entries(item)
          .filter(([, op]) => (op.security ?? []).length > 0)
          .map(([method, op]) => ({ method, template, roles: op['x-roles'] ?? [] })),
      );
      expect(routes.length, `${name} documents no secured route`).toBeGreaterThan(0);
      for (const route of routes) {
        const url = svc.url + route.template.replace(/\{[^}]+\}/g, () => randomUUID());
        const send = async (authorization: string | undefined) => {
          attempts++;
          const res = await fetch(url, {
            method: route.method.toUpperCase(),
            headers: {
              ...(authorization === undefined ? {} : { authorization }),
              'idempotency-key': randomUUID(),
              ...(BODY_METHODS.has(route.method) ? { 'content-type': 'application/json' } : {}),
            },
            ...(BODY_METHODS.has(route.method) ? { body: '{}' } : {}),
          });
          await res.arrayBuffer();
          return res.status;
        };
        for (const attack of ATTACKS) {
          for (const role of ['admin', 'customer'] as const) {
            const status = await send(await attack.header(role));
            const where = `${route.method.toUpperCase()} ${route.template} (${attack.name}, as ${role}) -> ${status}`;
            if (status < 400) succeeded.push(where);
            else if (status !== 401) unexpected.push(where);
          }
        }
        if (route.roles.length > 0 && !route.roles.includes('customer')) {
          const status = await send(`Bearer ${customer}`);
          const where = `${route.method.toUpperCase()} ${route.template} (valid customer token on an admin route) -> ${status}`;
          if (status < 400) succeeded.push(where);
          else if (status !== 403) unexpected.push(where);
        }
      }
      outcomes.push({ service: name, attempts, succeeded, unexpected });
      expect(succeeded).toEqual([]);
      expect(unexpected).toEqual([]);
    });
  });

  describe("another customer's ids (order-service)", () => {
    let svc: ServiceUnderTest;
    let alice: string;
    let mallory: string;
    let orderId: string;
    let aliceKey: string;
    beforeAll(async () => {
      svc = await startServiceForTest(orderService, { label: 'auth_idor', env: { PAYMENT_TIMEOUT: '200ms' } });
      [alice, mallory] = await Promise.all([svc.token('customer', `alice-${randomUUID()}`), svc.token('customer', `mallory-${randomUUID()}`)]);
      aliceKey = randomUUID();
      const placed = await svc.request('POST', '/v1/orders', {
        token: alice,
        headers: { 'idempotency-key': aliceKey },
        body: { lines: [{ sku: 'SKU-AUTH-1', quantity: 1 }], paymentToken: 'tok_approve' },
      });
      expect(placed.status).toBe(202);
      orderId = (placed.json as { orderId: string }).orderId;
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it("answers another customer's order exactly as one that does not exist, and never acts on it", async () => {
      let attempts = 0;
      const call = async (method: string, path: string, token: string, body?: unknown) => {
        attempts++;
        const res = await svc.request(method, path, { token, ...(body === undefined ? {} : { body }) });
        return { status: res.status, json: res.json as Record<string, unknown> };
      };
      const missing = randomUUID();
      const shape = (answer: { status: number; json: Record<string, unknown> }, id: string) =>
        JSON.stringify({ status: answer.status, ...answer.json, instance: undefined, traceId: undefined }).replaceAll(id, '<id>');
      for (let i = 0; i < 20; i++) {
        const theirs = await call('GET', `/v1/orders/${orderId}`, mallory);
        const none = await call('GET', `/v1/orders/${missing}`, mallory);
        expect(theirs.status).toBe(404);
        expect(shape(theirs, orderId)).toBe(shape(none, missing));
        const cancelTheirs = await call('POST', `/v1/orders/${orderId}/cancel`, mallory, { reason: 'not mine' });
        const cancelNone = await call('POST', `/v1/orders/${missing}/cancel`, mallory, { reason: 'not mine' });
        expect(cancelTheirs.status).toBe(404);
        expect(shape(cancelTheirs, orderId)).toBe(shape(cancelNone, missing));
        // Asking for Alice's orders by her id lists Mallory's own (none): the filter is an admin's.
        const aliceSub = JSON.parse(Buffer.from(alice.split('.')[1]!, 'base64url').toString()).sub as string;
        const list = await call('GET', `/v1/orders?customerId=${encodeURIComponent(aliceSub)}`, mallory);
        expect(list.status).toBe(200);
        expect(list.json.items).toEqual([]);
      }
      // Alice's idempotency key under Mallory's token is Mallory's own request: it never replays Alice's order.
      const reused = await svc.request('POST', '/v1/orders', {
        token: mallory,
        headers: { 'idempotency-key': aliceKey },
        body: { lines: [{ sku: 'SKU-AUTH-1', quantity: 1 }], paymentToken: 'tok_approve' },
      });
      attempts++;
      expect(reused.status).toBe(202);
      expect((reused.json as { orderId: string }).orderId).not.toBe(orderId);
      const stillPending = await svc.request('GET', `/v1/orders/${orderId}`, { token: alice });
      expect((stillPending.json as { status: string }).status).not.toMatch(/cancel/);
      outcomes.push({ service: "order-service (another customer's ids)", attempts, succeeded: [], unexpected: [] });
    });
  });

  it('made at least 1,000 attempts, and none succeeded', () => {
    const total = outcomes.reduce((n, o) => n + o.attempts, 0);
    console.log(JSON.stringify({ authAttacks: { total, perService: Object.fromEntries(outcomes.map((o) => [o.service, o.attempts])), succeeded: 0 } }));
    expect(total).toBeGreaterThanOrEqual(1_000);
    expect(outcomes.flatMap((o) => o.succeeded)).toEqual([]);
  });
});
