import { randomBytes } from 'node:crypto';
import { PostgresBus, PostgresEventStore, createKnex, migrateBus, signToken, type Role } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import type { Knex } from 'knex';
import { startService } from '../../src/main';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

const auth = { secret: 'catalog-test-secret-with-more-than-32-bytes', issuer: 'urn:shop:auth', audience: 'urn:shop:api' };

export const urlOf = (d: TestDatabase): string =>
  `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;

/** A SKU no other test uses. */
export const freshSku = (prefix = 'T'): string => `${prefix}-${randomBytes(5).toString('hex').toUpperCase()}`;

/**
 * The catalog service started in-process on port 0 against fresh databases,
 * with direct handles on its store, database and bus for assertions.
 */
export async function startCatalog(label: string) {
  const [serviceDb, busDb] = await Promise.all([createTestDatabase(`${label}_svc`), createTestDatabase(`${label}_bus`)]);
  const busKnex = createKnex(busDb);
  await migrateBus(busKnex);
  const service = await startService({
    SHOP_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    DATABASE_URL: urlOf(serviceDb),
    BUS: 'postgres',
    BUS_DATABASE_URL: urlOf(busDb),
    BUS_HEARTBEAT_MS: '200',
    BUS_SESSION_TIMEOUT_MS: '2000',
    AUTH_JWT_SECRET: auth.secret,
  });
  const store = new PostgresEventStore({ connection: serviceDb });
  const db: Knex = createKnex(serviceDb);
  const bus = new PostgresBus({ connection: busDb, heartbeatMs: 200, sessionTimeoutMs: 2_000 });
  const token = (role: Role, sub = `${role}-1`) => signToken({ sub, roles: [role] }, auth);
  const [adminToken, customerToken] = await Promise.all([token('admin', 'alice'), token('customer', 'bob')]);

  const call = (method: string, path: string, options: { body?: unknown; token?: string } = {}) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });

  return {
    url: service.url,
    store,
    db,
    bus,
    busKnex,
    adminToken,
    customerToken,
    call,
    /** An admin call. */
    admin: (method: string, path: string, body?: unknown) => call(method, path, { body, token: adminToken }),
    async stop() {
      await service.stop();
      await bus.close();
      await store.close();
      await Promise.all([db.destroy(), busKnex.destroy()]);
      await Promise.all([serviceDb.drop(), busDb.drop()]);
    },
  };
}

export type Catalog = Awaited<ReturnType<typeof startCatalog>>;
