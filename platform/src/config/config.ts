import { z } from 'zod';
import type { DatabaseConnection } from '../embedded-postgres/provision';

/**
 * Typed configuration from the environment. Configuration is read once, at
 * start-up, and a bad value stops the process with a message that names every
 * offending variable: a service must not start half-configured.
 *
 * Values are never echoed back in messages, because some of them are secrets.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DEV_ENVIRONMENTS = new Set(['development', 'test']);

/**
 * Dev mode is declared, never guessed: `SHOP_ENV=development|test`, or, when
 * `SHOP_ENV` is unset, `NODE_ENV=development|test`. An explicit
 * `SHOP_ENV=production` wins over a `NODE_ENV=test` left in a shell.
 */
export function isDevMode(env: Env = process.env): boolean {
  const shop = nonEmpty(env.SHOP_ENV);
  if (shop !== undefined) return DEV_ENVIRONMENTS.has(shop);
  const node = nonEmpty(env.NODE_ENV);
  return node !== undefined && DEV_ENVIRONMENTS.has(node);
}

const secretDefaults = new WeakMap<z.ZodType, { devDefault: string }>();

/**
 * Marks a variable as a secret: required outside dev mode, with a fallback
 * only in dev mode. The dev default still goes through `schema`, so it cannot
 * be weaker than what production accepts.
 */
export function secret<S extends z.ZodType>(schema: S, options: { devDefault: string }): S {
  const marked = schema.clone();
  secretDefaults.set(marked, options);
  return marked;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `250ms`, `10s`, `5m`, `1h`, `1d`, or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined;
}

function integer({ min, max }: { min: number; max: number }) {
  const message = `expected an integer between ${min} and ${max}`;
  return z
    .string()
    .regex(/^-?\d+$/, { error: message })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: message }).max(max, { error: message }));
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Schemas for environment variables; each coerces from the string the environment holds. */
export const env = {
  string: () => z.string(),
  port: () =>
    z
      .string()
      .regex(/^\d+$/, { error: 'expected a number between 0 and 65535' })
      .transform(Number)
      .pipe(z.number().max(65535, { error: 'expected a number between 0 and 65535' })),
  int: (bounds: { min?: number; max?: number } = {}) =>
    integer({ min: bounds.min ?? Number.MIN_SAFE_INTEGER, max: bounds.max ?? Number.MAX_SAFE_INTEGER }),
  boolean: () =>
    z.string().transform((value, ctx) => {
      const v = value.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      ctx.issues.push({ code: 'custom', message: 'expected true or false', input: value });
      return z.NEVER;
    }),
  duration: () =>
    z.string().transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms !== undefined) return ms;
      ctx.issues.push({ code: 'custom', message: 'expected a duration such as 500ms, 10s, 5m or 1h', input: value });
      return z.NEVER;
    }),
  url: (options: { protocols?: readonly string[] } = {}) =>
    z.string().refine(
      (value) => {
        if (!URL.canParse(value)) return false;
        return !options.protocols || options.protocols.includes(new URL(value).protocol);
      },
      { error: options.protocols ? `expected a URL starting with ${options.protocols.join(' or ')}//` : 'expected a URL' },
    ),
  enum: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: `expected one of ${values.join(', ')}` }),
  /** Comma-separated, blanks dropped. */
  list: () =>
    z.string().transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),
  /** A key for symmetric signing: at least `minBytes` bytes of UTF-8. */
  key: (minBytes = 32) =>
    z.string().refine((value) => Buffer.byteLength(value, 'utf8') >= minBytes, {
      error: `expected at least ${minBytes} bytes`,
    }),
};

/** A configuration's shape: a schema per environment variable. */
export type ConfigShape = Record<string, z.ZodType>;
type Shape = ConfigShape;
export type ConfigOf<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

/**
 * Reads `shape`'s variables from `env`. An empty string counts as unset
 * (compose files often declare `FOO=` to mean "not set").
 */
export function loadConfig<S extends Shape>(shape: S, source: Env = process.env): ConfigOf<S> {
  const dev = isDevMode(source);
  const problems: { variable: string; message: string }[] = [];
  const result: Record<string, unknown> = {};

  for (const [variable, schema] of Object.entries(shape)) {
    let value = nonEmpty(source[variable]);
    const secretOptions = secretDefaults.get(schema);
    if (value === undefined && secretOptions) {
      if (!dev) {
        problems.push({ variable, message: 'required outside development mode (a secret has no default there)' });
        continue;
      }
      value = secretOptions.devDefault;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) {
      result[variable] = parsed.data;
      continue;
    }
    if (value === undefined) {
      problems.push({ variable, message: 'required but not set' });
      continue;
    }
    const messages = [...new Set(parsed.error.issues.map((issue) => issue.message))];
    problems.push({ variable, message: messages.join('; ') });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return result as ConfigOf<S>;
}

export const DEV_AUTH_JWT_SECRET = 'dev-only-insecure-jwt-secret-never-use-in-production';

/** What every process that signs or verifies tokens reads. */
export const authConfigShape = {
  AUTH_JWT_SECRET: secret(env.key(32), { devDefault: DEV_AUTH_JWT_SECRET }),
  AUTH_ISSUER: env.string().default('urn:shop:auth'),
  AUTH_AUDIENCE: env.string().default('urn:shop:api'),
};

/**
 * The fields every service shares. A service spreads this into its own shape
 * and overrides what differs, e.g. `SERVICE_NAME: env.string().default('order-service')`.
 */
export const serviceConfigShape = {
  SERVICE_NAME: env.string(),
  SHOP_ENV: env.enum(['development', 'test', 'production']).optional(),
  HOST: env.string().default('0.0.0.0'),
  PORT: env.port().default(0),
  DATABASE_URL: env.url({ protocols: ['postgres:', 'postgresql:'] }),
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT: env.duration().default(10_000),
  /** How long a completed `Idempotency-Key` is replayed; older records are deleted by the schedule below. */
  IDEMPOTENCY_RETENTION: env.duration().default(24 * 3_600_000),
  /** How often expired idempotency records are deleted. */
  IDEMPOTENCY_PURGE_EVERY: env.duration().default(10 * 60_000),
  ...authConfigShape,
};

export type ServiceConfig = ConfigOf<typeof serviceConfigShape>;

/** The service host's tuning of the log and the message path; a service spreads it into its shape next to `serviceConfigShape`. */
export const hostTuningConfigShape = {
  /** Events per page of the service's log subscription (its projections and outbox relay). */
  LOG_BATCH_SIZE: env.int({ min: 1, max: 10_000 }).default(1_000),
  /** Streams whose folded state each process keeps in memory (least recently used evicted; a stale one is caught at commit). */
  STREAM_CACHE_SIZE: env.int({ min: 1, max: 1_000_000 }).default(20_000),
  /** Partitions of each topic a service creates (its own: those it publishes to and consumes); an existing topic is never shrunk. */
  TOPIC_PARTITIONS: env.int({ min: 1, max: 1_000 }).default(8),
  /**
   * Replay: before its consumers start, move each of the service's consumer
   * groups back to the earliest retained offset of every topic it reads, so
   * the whole retained history is delivered again (the inboxes absorb what
   * was handled before). Only an empty group can be moved: start one
   * replica with it, then restart without it.
   */
  BUS_REPLAY_FROM_EARLIEST: env.boolean().default(false),
};

/** `postgres://user:password@host:port/database` as the connection `createKnex` takes. */
/**
 * A `postgres://user:password@host:port/database` URL as connection options.
 * `?host=/a/directory` (libpq's form) connects through the Unix-domain
 * socket in that directory instead (the port still names the socket).
 */
export function parseDatabaseUrl(url: string): DatabaseConnection {
  const u = new URL(url);
  return {
    host: u.searchParams.get('host') || u.hostname,
    port: u.port === '' ? 5432 : Number(u.port),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/** The `postgres://` URL of a connection: what `parseDatabaseUrl` reads back (user and password escaped). */
export function databaseUrl(c: DatabaseConnection): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
