import { z } from 'zod';
import { pino, type Logger } from 'pino';
import { ConfigError, env, loadConfig, parseDuration, type ConfigOf } from '../config/config';
import type { Bus } from './bus';
import { KafkaBus } from './kafka/kafka-bus';
import { PostgresBus, type PostgresBusOptions } from './postgres/postgres-bus';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const BROKER = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/;

/**
 * The bus variables. A service spreads this into its config shape so that a
 * bad value stops it at start-up with the rest; `createBusFromEnv` reads them
 * again and adds the checks that depend on `BUS`.
 */
export const busConfigShape = {
  /** The adapter: `postgres` (the bus in a Postgres database) or `kafka`. */
  BUS: env.enum(['postgres', 'kafka']).default('postgres'),
  /** Required when BUS=postgres. */
  BUS_DATABASE_URL: env.url({ protocols: ['postgres:', 'postgresql:'] }).optional(),
  BUS_DEFAULT_PARTITIONS: env.int({ min: 1, max: 10_000 }).default(4),
  BUS_HEARTBEAT_MS: env.int({ min: 50, max: 600_000 }).default(1_000),
  BUS_SESSION_TIMEOUT_MS: env.int({ min: 100, max: 3_600_000 }).default(10_000),
  /** A page consumer of the Postgres bus commits its offsets at most this often while busy (0: after every page). */
  BUS_COMMIT_INTERVAL_MS: env.int({ min: 0, max: 60_000 }).default(100),
  /** BUS=postgres: messages every group has consumed are deleted once older than this (`off` keeps all). */
  BUS_RETENTION: env.string().default('7d'),
  /** BUS=postgres: and once more than this many behind their partition's end (unset: no size limit). */
  BUS_RETENTION_MESSAGES: env.int({ min: 1, max: 1_000_000_000 }).optional(),
  /** BUS=postgres: how often retention runs. */
  BUS_RETENTION_EVERY: env.duration().default(5 * 60_000),
  /** Required when BUS=kafka: `host:port`, comma-separated. */
  KAFKA_BROKERS: env
    .list()
    .pipe(z.array(z.string().regex(BROKER, { error: 'expected host:port, comma-separated' })).min(1, { error: 'expected host:port, comma-separated' }))
    .optional(),
  /** Default: SERVICE_NAME, else `shop`. */
  KAFKA_CLIENT_ID: env.string().optional(),
  /** Partitions of a topic the bus creates implicitly (services create theirs with their own count). */
  KAFKA_DEFAULT_PARTITIONS: env.int({ min: 1, max: 10_000 }).default(8),
  KAFKA_REPLICATION_FACTOR: env.int({ min: 1, max: 100 }).default(1),
  /** The broker accepts 6 s to 30 min unless configured otherwise. */
  KAFKA_SESSION_TIMEOUT_MS: env.int({ min: 1, max: 1_800_000 }).default(10_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: env.int({ min: 1, max: 600_000 }).default(1_000),
  KAFKA_MAX_WAIT_MS: env.int({ min: 1, max: 60_000 }).default(500),
};

export type BusConfig = ConfigOf<typeof busConfigShape>;

/**
 * The bus adapter named by configuration (`BUS=postgres|kafka`). The Kafka
 * adapter logs to `logger`, or else to a pino logger at `LOG_LEVEL` (warn).
 */
export function createBusFromEnv(source: NodeJS.ProcessEnv = process.env, options: { logger?: Logger } = {}): Bus {
  const c = loadConfig(busConfigShape, source);
  if (c.BUS === 'kafka') {
    if (!c.KAFKA_BROKERS) throw new ConfigError([{ variable: 'KAFKA_BROKERS', message: 'required when BUS=kafka' }]);
    if (c.KAFKA_HEARTBEAT_INTERVAL_MS >= c.KAFKA_SESSION_TIMEOUT_MS) {
      throw new ConfigError([{ variable: 'KAFKA_HEARTBEAT_INTERVAL_MS', message: 'must be lower than KAFKA_SESSION_TIMEOUT_MS (a third of it is usual)' }]);
    }
    return new KafkaBus({
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID ?? source.SERVICE_NAME ?? 'shop',
      defaultPartitions: c.KAFKA_DEFAULT_PARTITIONS,
      replicationFactor: c.KAFKA_REPLICATION_FACTOR,
      sessionTimeoutMs: c.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: c.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxWaitTimeMs: c.KAFKA_MAX_WAIT_MS,
      logger: options.logger ?? pino({ name: 'bus', level: LOG_LEVELS.has(source.LOG_LEVEL ?? '') ? source.LOG_LEVEL : 'warn' }),
    });
  }
  if (!c.BUS_DATABASE_URL) throw new ConfigError([{ variable: 'BUS_DATABASE_URL', message: 'required when BUS=postgres' }]);
  return new PostgresBus({
    connection: { connectionString: c.BUS_DATABASE_URL },
    defaultPartitions: c.BUS_DEFAULT_PARTITIONS,
    heartbeatMs: c.BUS_HEARTBEAT_MS,
    sessionTimeoutMs: c.BUS_SESSION_TIMEOUT_MS,
    commitIntervalMs: c.BUS_COMMIT_INTERVAL_MS,
    ...busRetentionOf(c),
    ...(options.logger ? { onRetentionError: (err: unknown) => options.logger!.warn({ err }, 'bus retention failed; it runs again at the next tick') } : {}),
  });
}

/** `BUS_RETENTION` (a duration, or `off`) and `BUS_RETENTION_MESSAGES` as the Postgres bus's retention schedule; none when both are off. */
export function busRetentionOf(c: Pick<BusConfig, 'BUS_RETENTION' | 'BUS_RETENTION_MESSAGES' | 'BUS_RETENTION_EVERY'>): Pick<PostgresBusOptions, 'retention'> {
  let maxAgeMs: number | undefined;
  if (c.BUS_RETENTION !== 'off') {
    maxAgeMs = parseDuration(c.BUS_RETENTION);
    if (maxAgeMs === undefined) throw new ConfigError([{ variable: 'BUS_RETENTION', message: 'expected a duration such as 12h or 7d, or off' }]);
  }
  if (maxAgeMs === undefined && c.BUS_RETENTION_MESSAGES === undefined) return {};
  return {
    retention: {
      everyMs: c.BUS_RETENTION_EVERY,
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
      ...(c.BUS_RETENTION_MESSAGES === undefined ? {} : { maxMessages: c.BUS_RETENTION_MESSAGES }),
    },
  };
}
