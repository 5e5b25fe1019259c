import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Verifier } from '@pact-foundation/pact';
import { OrderPlaced, ProductAdded } from '@shop/contracts';
import { EmbeddedPostgresServer, signToken, type SuperuserConnection } from '@shop/platform';
import { TEST_AUTH, waitFor } from '@shop/platform/testing';
import { PACTS_DIR, VERIFICATIONS_DIR, pactFilesFor, type VerificationRecord } from '@shop/platform/testing/pacts';
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { at, confirmed, eur, message, sagaEnded, startAnalytics, stock, type AnalyticsUnderTest } from './support';

const PROVIDER = 'analytics-service';
/** Where this file records its verifications, beside the message pacts' `<provider>.json`, for `contracts:check`. */
const HTTP_VERIFICATIONS_FILE = path.join(VERIFICATIONS_DIR, `${PROVIDER}-http.json`);

/**
 * The pact-providers project runs no Postgres (the platform's global setup
 * keeps its data directory under the run's pid, so a second project's copy
 * would stop the first one's server): this file runs its own, and the
 * harness makes its databases there.
 */
const postgres = vi.hoisted(() => ({ admin: undefined as SuperuserConnection | undefined }));
vi.mock('../../platform/src/testing/databases', async () => {
  const { dropDatabase, provisionDatabase } = await import('../../platform/src/embedded-postgres/provision');
  const admin = () => {
    if (!postgres.admin) throw new Error('this spec has not started its Postgres yet');
    return postgres.admin;
  };
  return {
    testAdminConnection: admin,
    async createTestDatabase(label: string) {
      const name = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
      const conn = await provisionDatabase(admin(), name);
      return { ...conn, drop: () => dropDatabase(admin(), name) };
    },
  };
});

/**
 * analytics-service as the provider of its admin API to the dashboard's
 * page: the running service (the platform's harness, a real database),
 * put in each provider state through its real message path (facts
 * published on the bus, archived by its consumer, read by its projections;
 * alert rules through its API), answering each request of the pact as
 * Pact's verifier replays it. The verifier sends a real admin token unless
 * the state is about the token.
 */
describe('analytics-service as the provider of the dashboard API (Pact)', () => {
  let server: EmbeddedPostgresServer;
  let svc: AnalyticsUnderTest;
  const tokens: Record<'admin' | 'customer' | 'expired', string> = { admin: '', customer: '', expired: '' };

  beforeAll(async () => {
    server = new EmbeddedPostgresServer({ dataDir: path.join(os.tmpdir(), `shop-pact-pg-${process.pid}-${randomUUID().slice(0, 8)}`, 'data'), reset: true });
    postgres.admin = await server.start();
    svc = await startAnalytics('analytics_dashboard_provider', { ALERT_EVALUATION_INTERVAL: '200ms' });
    tokens.admin = await svc.token('admin');
    tokens.customer = await svc.token('customer');
    tokens.expired = await signToken({ sub: 'admin-1', roles: ['admin'], ttl: '1h', issuedAt: new Date(Date.now() - 2 * 3_600_000) }, TEST_AUTH);
  });
  afterAll(async () => {
    await svc?.stop();
    await server?.stop();
    if (server) fs.rmSync(path.dirname(server.dataDir), { recursive: true, force: true });
  });

  /** Facts in through the service's consumer, then its projections caught up with them. */
  const archived = async (...messages: Parameters<AnalyticsUnderTest['publish']>[0]) => {
    await svc.waitConsumed(await svc.publish(messages));
    await svc.projectionsCaughtUp();
  };
  const once = (setup: () => Promise<void>) => {
    let done: Promise<void> | undefined;
    return () => (done ??= setup());
  };
  const activeAlerts = async () => (await svc.get('/v1/alerts?state=active', tokens.admin)).json.items as unknown[];

  // The dashboard's pact asks about the hour up to 10:31 on 2 March 2026 (its page's clock): the facts are from 10:00 (`at`) on.
  const ordersPlacedAndConfirmed = once(async () => {
    const products = [
      { sku: 'SKU-A', name: 'Mug', price: eur(1000) },
      { sku: 'SKU-B', name: 'Tea', price: eur(500) },
    ].map((p) => message(ProductAdded, { ...p, description: '', category: 'kitchen', addedAt: at(-60) }));
    const orders = [0, 1, 2].flatMap((n) => {
      const orderId = randomUUID();
      const lines = [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }];
      return [message(OrderPlaced, { orderId, customerId: 'cust-1', lines, placedAt: at(n * 60), channel: 'web' }), confirmed(orderId, n * 60 + 10)];
    });
    await archived(...products, ...orders);
  });
  const stockRanOut = once(() => archived(stock('SKU-A', 5, 'received', 0), stock('SKU-B', 0, 'reserved', 30, randomUUID())));
  const sagasEnded = once(() => archived(sagaEnded(randomUUID(), 800), sagaEnded(randomUUID(), 1_900, 1), sagaEnded(randomUUID(), 1_200, 0, 80)));
  const stockAlertRaised = async () => {
    await stockRanOut();
    if ((await activeAlerts()).length > 0) return;
    const rule = { name: 'Sold out', metric: 'stock_available', comparator: 'below', threshold: 1, severity: 'critical' };
    expect((await svc.request('POST', '/v1/alerts/rules', { token: tokens.admin, body: rule })).status).toBe(201);
    await waitFor(async () => (await activeAlerts()).length > 0, 20_000);
  };

  /** Each provider state the dashboard's pact may name: how the service is put in it, and the token its requests carry. */
  const STATES: Record<string, { setup(): Promise<void>; token: keyof typeof tokens }> = {
    'orders were placed and confirmed': { setup: ordersPlacedAndConfirmed, token: 'admin' },
    'stock levels changed and a SKU ran out': { setup: stockRanOut, token: 'admin' },
    'place-order sagas ended': { setup: sagasEnded, token: 'admin' },
    'a stock alert is raised': { setup: stockAlertRaised, token: 'admin' },
    'a stock alert was raised, then resolved': {
      async setup() {
        await stockAlertRaised();
        // Deleting a rule resolves its alerts at the next evaluation ('rule-deleted').
        for (const rule of (await svc.get('/v1/alerts/rules', tokens.admin)).json.items as { id: string }[]) {
          expect((await svc.request('DELETE', `/v1/alerts/rules/${rule.id}`, { token: tokens.admin })).status).toBe(204);
        }
        await waitFor(async () => (await activeAlerts()).length === 0, 20_000);
      },
      token: 'admin',
    },
    'the projections caught up with the archive': { setup: async () => void (await svc.projectionsCaughtUp()), token: 'admin' },
    'the admin token has expired': { setup: async () => undefined, token: 'expired' },
    "the token is a customer's": { setup: async () => undefined, token: 'customer' },
  };

  it('serves every HTTP pact that names it, and records the verification for contracts:check', { timeout: 180_000 }, async () => {
    const files = pactFilesFor(PROVIDER, PACTS_DIR, 'http');
    expect(files, `no HTTP pact names ${PROVIDER} in ${PACTS_DIR}: run analytics-service/test/dashboard.consumer.pact.spec.ts first`).not.toEqual([]);

    let state: string | undefined;
    const stateHandlers = Object.fromEntries(
      Object.entries(STATES).map(([name, s]) => [
        name,
        async () => {
          state = name;
          await s.setup();
          return undefined;
        },
      ]),
    );
    // The consumer's example token means nothing here: each request carries the one its state calls for.
    const requestFilter: RequestHandler = (req, _res, next) => {
      req.headers.authorization = `Bearer ${tokens[STATES[state ?? '']?.token ?? 'admin']}`;
      next();
    };

    const records: VerificationRecord[] = [];
    const failures: string[] = [];
    for (const file of files) {
      const raw = fs.readFileSync(file, 'utf8');
      const pact = JSON.parse(raw) as { consumer: { name: string }; interactions: { description: string; providerStates?: { name: string }[] }[] };
      const record: VerificationRecord = {
        provider: PROVIDER,
        providerVersion: pkg.version,
        consumer: pact.consumer.name,
        pactFile: path.relative(path.resolve(PACTS_DIR, '../..'), file),
        pactSha256: createHash('sha256').update(raw).digest('hex'),
        interactions: pact.interactions.map((i) => i.description).sort(),
        verified: false,
        at: new Date().toISOString(),
      };
      // Pact's verifier only warns about a state without a handler, and the request would then go out in the wrong state.
      const unknown = [...new Set(pact.interactions.flatMap((i) => (i.providerStates ?? []).map((s) => s.name)))].filter((s) => !(s in STATES));
      try {
        if (unknown.length > 0) throw new Error(`${PROVIDER} knows no provider state ${unknown.map((s) => `'${s}'`).join(', ')}`);
        await new Verifier({
          provider: PROVIDER,
          providerVersion: pkg.version,
          providerBaseUrl: svc.url,
          pactUrls: [file],
          stateHandlers,
          requestFilter,
          logLevel: 'error',
        }).verifyProvider();
        record.verified = true;
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
        failures.push(`${record.consumer} -> ${PROVIDER}: ${record.error}`);
      }
      records.push(record);
    }
    fs.mkdirSync(VERIFICATIONS_DIR, { recursive: true });
    fs.writeFileSync(HTTP_VERIFICATIONS_FILE, JSON.stringify(records, null, 2) + '\n');
    expect(failures).toEqual([]);
  });
});
