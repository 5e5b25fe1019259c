import type { Knex } from 'knex';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenVerifier, authSettingsFromConfig, signToken } from '../src/auth/jwt';
import { loadConfig, parseDatabaseUrl, serviceConfigShape, type ServiceConfig } from '../src/config/config';
import {
  TOKENS,
  bindFactory,
  bindValue,
  createContainer,
  resolve,
  resolveAll,
  resolveAsync,
  token,
  type Clock,
} from '../src/di/container';
import type { ReadinessCheck } from '../src/http/health';
import { createKnex } from '../src/persistence/migrations';

/** A plain class: no decorators, no metadata; its dependencies come in through the constructor. */
class OrderQueries {
  constructor(
    readonly db: Knex,
    readonly clock: Clock,
    readonly logger: Logger,
  ) {}

  describe(): string {
    return `orders at ${this.clock.now().toISOString()}`;
  }
}

const CONFIG = token<ServiceConfig>('order-service.Config');
const ORDER_QUERIES = token<OrderQueries>('order-service.OrderQueries');

const env = {
  SHOP_ENV: 'production',
  SERVICE_NAME: 'order-service',
  DATABASE_URL: 'postgres://orders:secret@127.0.0.1:5999/orders',
  AUTH_JWT_SECRET: 'di-test-secret-which-is-at-least-32-bytes',
  LOG_LEVEL: 'silent',
};

/** What a service's composition.ts does: config in, every object built from tokens. */
function compose() {
  const container = createContainer();
  bindValue(container, CONFIG, loadConfig(serviceConfigShape, env));
  bindFactory(container, TOKENS.Logger, [CONFIG], (config) => pino({ name: config.SERVICE_NAME, level: config.LOG_LEVEL }));
  bindFactory(container, TOKENS.Database, [CONFIG], (config) => createKnex(parseDatabaseUrl(config.DATABASE_URL), { max: 3 }));
  bindValue(container, TOKENS.Clock, { now: () => new Date('2030-01-02T03:04:05Z') });
  bindFactory(container, TOKENS.TokenVerifier, [CONFIG], (config) => createTokenVerifier(authSettingsFromConfig(config)));
  bindFactory(
    container,
    ORDER_QUERIES,
    [TOKENS.Database, TOKENS.Clock, TOKENS.Logger],
    (db, clock, logger) => new OrderQueries(db, clock, logger),
  );
  return container;
}

describe('composition root', () => {
  const opened: Knex[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.destroy()));
  });

  it('builds the object graph from the config, each dependency resolved through its token', async () => {
    const container = compose();
    const queries = resolve(container, ORDER_QUERIES);
    opened.push(queries.db);

    expect(queries).toBeInstanceOf(OrderQueries);
    expect(queries.describe()).toBe('orders at 2030-01-02T03:04:05.000Z');
    expect(queries.logger.level).toBe('silent');
    expect(queries.db.client.config.connection).toMatchObject({ host: '127.0.0.1', port: 5999, database: 'orders', user: 'orders' });
    expect(queries.db).toBe(resolve(container, TOKENS.Database));
    expect(queries.logger).toBe(resolve(container, TOKENS.Logger));

    const config = resolve(container, CONFIG);
    const token = await signToken({ sub: 'alice', roles: ['admin'] }, authSettingsFromConfig(config));
    expect(await resolve(container, TOKENS.TokenVerifier).verify(token)).toEqual({ subject: 'alice', roles: ['admin'] });
  });

  it('builds each binding once per container (singleton scope)', () => {
    const container = compose();
    let built = 0;
    const COUNTED = token<object>('counted');
    bindFactory(container, COUNTED, [], () => ({ n: ++built }));
    expect(resolve(container, COUNTED)).toBe(resolve(container, COUNTED));
    expect(built).toBe(1);
    const queries = resolve(container, ORDER_QUERIES);
    opened.push(queries.db);
    expect(resolve(container, ORDER_QUERIES)).toBe(queries);

    const other = compose();
    const otherQueries = resolve(other, ORDER_QUERIES);
    opened.push(otherQueries.db);
    expect(otherQueries).not.toBe(queries);
  });

  it('collects multi-bindings such as readiness checks', () => {
    const CHECKS = token<ReadinessCheck>('test.ReadinessChecks');
    const container = createContainer();
    expect(resolveAll(container, CHECKS)).toEqual([]);
    const db: ReadinessCheck = { name: 'database', check: async () => {} };
    const bus: ReadinessCheck = { name: 'bus', check: async () => {} };
    bindValue(container, CHECKS, db);
    bindValue(container, CHECKS, bus);
    expect(resolveAll(container, CHECKS).map((c) => c.name)).toEqual(['database', 'bus']);
  });

  it('resolves async factories with resolveAsync', async () => {
    const container = createContainer();
    const READY = token<{ ready: boolean }>('ready');
    bindFactory(container, READY, [], async () => ({ ready: true }));
    expect(await resolveAsync(container, READY)).toEqual({ ready: true });
  });

  it('fails with a clear error naming an unbound token', () => {
    const container = compose();
    expect(() => resolve(container, TOKENS.EventStore)).toThrow(/No bindings found for service: "Symbol\(shop\.EventStore\)"/);

    const NEEDS_BUS = token<object>('order-service.Publisher');
    bindFactory(container, NEEDS_BUS, [TOKENS.Bus], (bus) => ({ bus }));
    expect(() => resolve(container, NEEDS_BUS)).toThrow(/No bindings found for service: "Symbol\(shop\.Bus\)"[\s\S]*order-service\.Publisher/);
  });
});
