import { describe, expect, it } from 'vitest';
import {
  DEV_AUTH_JWT_SECRET,
  env,
  isDevMode,
  loadConfig,
  parseDatabaseUrl,
  parseDuration,
  secret,
  serviceConfigShape,
} from '../src/config/config';
import { configError } from '../src/testing/config-error';

const SECRET = 'a-production-secret-of-at-least-32-bytes';
const valid = {
  SHOP_ENV: 'production',
  SERVICE_NAME: 'order-service',
  DATABASE_URL: 'postgres://orders:pw@db.internal:5433/orders',
  AUTH_JWT_SECRET: SECRET,
};

describe('loadConfig', () => {
  it('returns typed values, with defaults for what is unset', () => {
    const config = loadConfig(serviceConfigShape, valid);
    expect(config).toEqual({
      SERVICE_NAME: 'order-service',
      SHOP_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: 0,
      DATABASE_URL: 'postgres://orders:pw@db.internal:5433/orders',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT: 10_000,
      IDEMPOTENCY_RETENTION: 86_400_000,
      IDEMPOTENCY_PURGE_EVERY: 600_000,
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: 'urn:shop:auth',
      AUTH_AUDIENCE: 'urn:shop:api',
    });
  });

  it('coerces numbers, booleans, durations and lists', () => {
    const shape = {
      PORT: env.port(),
      WORKERS: env.int({ min: 1, max: 64 }),
      VERBOSE: env.boolean(),
      QUIET: env.boolean(),
      POLL: env.duration(),
      BROKERS: env.list(),
    };
    expect(
      loadConfig(shape, { PORT: '8080', WORKERS: '4', VERBOSE: 'true', QUIET: 'no', POLL: '1.5s', BROKERS: 'a:9092, b:9092,,' }),
    ).toEqual({ PORT: 8080, WORKERS: 4, VERBOSE: true, QUIET: false, POLL: 1_500, BROKERS: ['a:9092', 'b:9092'] });
  });

  it('names every bad variable and why, in one error', () => {
    const err = configError(() =>
      loadConfig(serviceConfigShape, {
        ...valid,
        SERVICE_NAME: undefined,
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x@y/z',
        LOG_LEVEL: 'loud',
        SHUTDOWN_TIMEOUT: 'soon',
      }),
    );
    expect(err.problems).toEqual([
      { variable: 'SERVICE_NAME', message: 'required but not set' },
      { variable: 'PORT', message: 'expected a number between 0 and 65535' },
      { variable: 'DATABASE_URL', message: 'expected a URL starting with postgres: or postgresql://' },
      { variable: 'LOG_LEVEL', message: 'expected one of fatal, error, warn, info, debug, trace, silent' },
      { variable: 'SHUTDOWN_TIMEOUT', message: 'expected a duration such as 500ms, 10s, 5m or 1h' },
    ]);
    expect(err.message).toContain('PORT: expected a number between 0 and 65535');
    expect(err.message).toContain('SERVICE_NAME: required but not set');
  });

  it.each(['65536', '-1', '0x10', '1e3', '80.5', ' '])('refuses PORT=%j', (port) => {
    const err = configError(() => loadConfig({ PORT: env.port() }, { PORT: port }));
    expect(err.problems.map((p) => p.variable)).toEqual(['PORT']);
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig({ PORT: env.port().default(3000) }, { PORT: '' })).toEqual({ PORT: 3000 });
    expect(configError(() => loadConfig({ NAME: env.string() }, { NAME: '' })).problems).toEqual([
      { variable: 'NAME', message: 'required but not set' },
    ]);
  });

  describe('secrets', () => {
    it('have no default outside dev mode', () => {
      const err = configError(() => loadConfig(serviceConfigShape, { ...valid, AUTH_JWT_SECRET: undefined }));
      expect(err.problems).toEqual([
        { variable: 'AUTH_JWT_SECRET', message: 'required outside development mode (a secret has no default there)' },
      ]);
    });

    it('fall back to the dev default in dev mode only', () => {
      const dev = { ...valid, SHOP_ENV: 'development', AUTH_JWT_SECRET: undefined };
      expect(loadConfig(serviceConfigShape, dev).AUTH_JWT_SECRET).toBe(DEV_AUTH_JWT_SECRET);
      expect(loadConfig(serviceConfigShape, { ...dev, AUTH_JWT_SECRET: SECRET }).AUTH_JWT_SECRET).toBe(SECRET);
    });

    it('are validated, dev default included, and never echoed', () => {
      const short = 'short-secret-123';
      const err = configError(() => loadConfig(serviceConfigShape, { ...valid, AUTH_JWT_SECRET: short }));
      expect(err.problems).toEqual([{ variable: 'AUTH_JWT_SECRET', message: 'expected at least 32 bytes' }]);
      expect(err.message).not.toContain(short);

      const weak = { API_KEY: secret(env.key(32), { devDefault: 'too-short' }) };
      expect(configError(() => loadConfig(weak, { SHOP_ENV: 'development' })).problems).toEqual([
        { variable: 'API_KEY', message: 'expected at least 32 bytes' },
      ]);
    });

    it('do not change the schema they wrap', () => {
      const key = env.key(32);
      secret(key, { devDefault: DEV_AUTH_JWT_SECRET });
      expect(configError(() => loadConfig({ K: key }, { SHOP_ENV: 'development' })).problems).toEqual([
        { variable: 'K', message: 'required but not set' },
      ]);
    });
  });
});

describe('isDevMode', () => {
  it.each([
    [{ SHOP_ENV: 'development' }, true],
    [{ SHOP_ENV: 'test' }, true],
    [{ NODE_ENV: 'development' }, true],
    [{ NODE_ENV: 'test' }, true],
    [{ SHOP_ENV: 'production', NODE_ENV: 'test' }, false],
    [{ NODE_ENV: 'production' }, false],
    [{}, false],
  ])('%j → %s', (vars, expected) => {
    expect(isDevMode(vars)).toBe(expected);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['250', 250],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['ten', undefined],
    ['-5s', undefined],
    ['5 weeks', undefined],
  ])('%s → %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('parseDatabaseUrl', () => {
  it('gives the connection createKnex takes, decoding escaped credentials', () => {
    expect(parseDatabaseUrl('postgresql://order%40svc:p%2Fw%3A@127.0.0.1:6543/orders')).toEqual({
      host: '127.0.0.1',
      port: 6543,
      database: 'orders',
      user: 'order@svc',
      password: 'p/w:',
    });
    expect(parseDatabaseUrl('postgres://u:p@db/x').port).toBe(5432);
  });
});
