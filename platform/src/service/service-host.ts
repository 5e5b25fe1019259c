import { pathToFileURL } from 'node:url';
import type { Container } from 'inversify';
import type { Knex } from 'knex';
import { pino, type Logger } from 'pino';
import { authSettingsFromConfig, createTokenVerifier } from '../auth/jwt';
import type { Bus, Consumer, TopicSpec } from '../bus/bus';
import { busMetrics, collectRuntimeMetrics, outboxMetrics, projectionMetrics } from '../observability/metrics';
import { shutdownTracing, trace, tracingEnabled } from '../observability/tracing';
import { busReadiness, consumerReadiness } from '../bus/bus-readiness';
import { createBusFromEnv } from '../bus/create-bus';
import { ConfigError, loadConfig, parseDatabaseUrl, serviceConfigShape } from '../config/config';
import { TOKENS, bindFactory, bindValue, resolve, systemClock, token } from '../di/container';
import { StreamStateCache } from '../event-store/unit-of-work';
import { MessageProcessor } from '../messaging/message-processor';
import type { MessageHandlers } from '../messaging/message-handlers';
import { LogFanOut } from '../projections/log-fan-out';
import { eventStoreMigrations } from '../event-store/postgres/event-store-migrations';
import { createEventStoreFromEnv } from '../event-store/create-event-store';
import type { EventStore } from '../event-store/event-store';
import type { Inbox } from '../inbox/inbox';
import { databaseReadiness } from '../http/health';
import { createHttpApp, type HttpMount } from '../http/http-app';
import { startHttpServer } from '../http/http-server';
import { IdempotencyStore, idempotencyPurgeSchedule } from '../http/idempotency';
import { idempotencyMigrations } from '../http/idempotency-migrations';
import { createShutdown } from '../http/lifecycle';
import type { Route } from '../http/routes';
import { inboxMigrations } from '../inbox/inbox';
import { deadLetterMigrations } from '../dead-letters/dead-letter-console';
import { OutboxRelay, type OutboxRelayOptions } from '../outbox/outbox-relay';
import { createKnex, runMigrations } from '../persistence/migrations';
import { ProjectionRunner } from '../projections/projection-runner';
import type { Projection } from '../projections/projection';
import type { Token } from '../di/container';
import { projectionMigrations } from '../projections/projection-migrations';
import { outboxMigrations } from '../outbox/outbox-relay';

/** The configuration every service has (see `serviceConfigShape`). */
export interface HostConfig {
  SERVICE_NAME: string;
  LOG_LEVEL: string;
  DATABASE_URL: string;
  HOST: string;
  PORT: number;
  SHUTDOWN_TIMEOUT: number;
  /** Events per page of the log fan-out (default 1,000). */
  LOG_BATCH_SIZE?: number;
  /** Streams kept folded in the process's `StreamStateCache` (default 20,000). */
  STREAM_CACHE_SIZE?: number;
  /** Partitions of each topic the service creates (default 8). */
  TOPIC_PARTITIONS?: number;
  /** How long a completed Idempotency-Key is replayed, ms (default 24 h). */
  IDEMPOTENCY_RETENTION?: number;
  /** How often expired idempotency records are deleted, ms (default 10 min). */
  IDEMPOTENCY_PURGE_EVERY?: number;
  /** Moves every consumer group back to the earliest retained offsets before its consumers start (a replay of everything). */
  BUS_REPLAY_FROM_EARLIEST?: boolean;
  AUTH_JWT_SECRET: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}

/**
 * Binds the adapters every service uses, chosen by configuration: logger,
 * clock, its database, its event store, the bus (`createBusFromEnv`), the
 * token verifier and the idempotency store. A service's composition root
 * calls this, then binds its own parts.
 */
export function bindPlatformAdapters(c: Container, config: HostConfig, env: NodeJS.ProcessEnv): void {
  const database = parseDatabaseUrl(config.DATABASE_URL);
  bindValue(c, TOKENS.Clock, systemClock);
  bindFactory(c, TOKENS.Logger, [], () => serviceLogger(config));
  bindFactory(c, TOKENS.Database, [], () => createKnex(database, { max: 10 }));
  // One store is both: a message's inbox record is written atomically with its effects, where the events are.
  bindFactory(c, EVENT_STORE, [], () => createEventStoreFromEnv(env, database));
  bindFactory(c, TOKENS.EventStore, [EVENT_STORE], (store) => store);
  bindFactory(c, TOKENS.Inbox, [EVENT_STORE], (store) => store);
  bindFactory(c, TOKENS.StreamCache, [], () => new StreamStateCache(config.STREAM_CACHE_SIZE));
  bindFactory(c, TOKENS.Bus, [TOKENS.Logger], (logger) => createBusFromEnv(env, { logger }));
  bindFactory(c, TOKENS.TokenVerifier, [], () => createTokenVerifier(authSettingsFromConfig(config)));
  bindFactory(c, TOKENS.IdempotencyStore, [TOKENS.Database], (db) => new IdempotencyStore(db));
}


const EVENT_STORE = token<EventStore & Inbox>('shop.ConfiguredEventStore');

/** The version every service reports (OpenAPI, logs, the trace resource). */
export const SERVICE_VERSION = '1.0.0';

/**
 * A service's pino logger: JSON lines with the service's name and version,
 * and `trace_id`/`span_id` of the span active when the line is written (with
 * tracing on), so a log line leads to its trace.
 */
export function serviceLogger(config: Pick<HostConfig, 'SERVICE_NAME' | 'LOG_LEVEL'>): Logger {
  return pino({
    name: config.SERVICE_NAME,
    level: config.LOG_LEVEL,
    base: { pid: process.pid, service: config.SERVICE_NAME, version: SERVICE_VERSION },
    mixin: traceFields,
  });
}

function traceFields(): Record<string, string> {
  if (!tracingEnabled()) return {};
  const span = trace.getActiveSpan()?.spanContext();
  return span ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * A consumer on the platform's message path (`MessageProcessor`) over the
 * service's store, inbox and stream cache, in consumer group `group` (which
 * also names its inbox), on its handlers' topics. Rejected messages are
 * logged as they are dead-lettered.
 */
export function messageConsumer(
  get: <T>(token: Token<T>) => T,
  group: string,
  handlers: MessageHandlers,
  options: { maxPageSize?: number } = {},
): { consumer: Consumer; topics: readonly string[]; group: string; processor: MessageProcessor } {
  const logger = get(TOKENS.Logger);
  const processor = new MessageProcessor({
    consumer: group,
    handlers,
    store: get(TOKENS.EventStore),
    inbox: get(TOKENS.Inbox),
    cache: get(TOKENS.StreamCache),
    onRejected: (message, err) =>
      logger.warn({ err, topic: message.topic, partition: message.partition, offset: message.offset, consumer: group }, 'message rejected; dead-lettered'),
  });
  const consumer = get(TOKENS.Bus).consumer({
    groupId: group,
    topics: processor.topics,
    pageHandler: (page) => processor.handlePage(page),
    ...(options.maxPageSize ? { maxPageSize: options.maxPageSize } : {}),
  });
  return { consumer, topics: processor.topics, group, processor };
}

/**
 * The service's outbox relay over its own store, database and the bus, with
 * its leadership lock on the same database; failures are logged and the
 * relay retries from its checkpoint.
 */
export function outboxRelay(
  get: <T>(token: Token<T>) => T,
  config: Pick<HostConfig, 'DATABASE_URL'>,
  options: Pick<OutboxRelayOptions, 'name' | 'toMessages' | 'filter' | 'batchSize'>,
): OutboxRelay {
  const logger = get(TOKENS.Logger);
  return new OutboxRelay({
    ...options,
    store: get(TOKENS.EventStore),
    db: get(TOKENS.Database),
    lockConnection: parseDatabaseUrl(config.DATABASE_URL),
    bus: get(TOKENS.Bus),
    onError: (err) => logger.warn({ err, relay: options.name }, 'outbox relay failed; retrying from its checkpoint'),
  });
}

/** A projection runner that logs its failures (it resumes from its checkpoint by itself). */
export function projectionRunner(
  db: Knex,
  store: EventStore,
  logger: Logger,
  projection: Projection,
  options: { batchSize?: number } = {},
): ProjectionRunner {
  return new ProjectionRunner(db, store, projection, {
    ...options,
    onError: (err) => logger.warn({ err, projection: projection.name }, 'projection failed; resuming from its checkpoint'),
  });
}

export interface HostedPart {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceHostOptions {
  container: Container;
  config: HostConfig;
  description: string;
  /** The service's own migration set, run after the platform's. */
  migrations: { set: string; migrations: Record<string, Knex.Migration> };
  topics: TopicSpec[];
  projections?: ProjectionRunner[];
  relay?: OutboxRelay;
  /** Named consumers; each also becomes a `/readyz` check. */
  consumers?: Record<string, Consumer>;
  /** The consumer groups and their topics, whose lag and dead-letter topics `/metrics` reports. */
  groups?: readonly { group: string; topics: readonly string[] }[];
  /** The service's own metrics: registered once it runs; returns their removal (see `platform/src/observability/metrics.ts`). */
  metrics?: () => () => void;
  /** Anything else with a start and a stop (a deadline poller...). */
  workers?: HostedPart[];
  routes: Route[];
  /** Express handlers beside the routes (a static page, an event stream); their `close` runs first on shutdown. */
  mounts?: HttpMount[];
}

export interface HostedService {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGINT/SIGTERM stop the service gracefully, then exit 130/143. */
  handleSignals(): () => void;
}

/**
 * A service's database schema: the platform's migration sets (event store,
 * projections, outbox, inbox, HTTP idempotency), then the service's own.
 * Each set is applied under knex's migration lock, so replicas starting
 * together, or a migration job beside them, apply each migration once.
 */
export async function runServiceMigrations(db: Knex, own: ServiceHostOptions['migrations']): Promise<void> {
  await runMigrations(db, 'event_store', eventStoreMigrations);
  await runMigrations(db, 'projections', projectionMigrations);
  await runMigrations(db, 'outbox', outboxMigrations);
  await runMigrations(db, 'inbox', inboxMigrations);
  await runMigrations(db, 'http_idempotency', idempotencyMigrations);
  await runMigrations(db, 'dead_letters', deadLetterMigrations);
  await runMigrations(db, own.set, own.migrations);
}

/**
 * `<service>/src/main.ts --migrate`: applies the service's migrations to
 * `DATABASE_URL` and returns, without the rest of its configuration (a
 * migration job or init container needs only its database).
 */
export async function migrateServiceDatabase(migrations: ServiceHostOptions['migrations'], env: NodeJS.ProcessEnv): Promise<void> {
  const { DATABASE_URL } = loadConfig({ DATABASE_URL: serviceConfigShape.DATABASE_URL }, env);
  const db = createKnex(parseDatabaseUrl(DATABASE_URL), { max: 1 });
  try {
    await runServiceMigrations(db, migrations);
  } finally {
    await db.destroy();
  }
}

/**
 * Starts a service the way every service starts: platform and own
 * migrations, topics, projections, outbox relay, consumers, workers, then
 * HTTP (routes, `/healthz`, `/readyz` over database, bus, consumers and
 * shutdown state). `stop()` undoes it in the opposite order: workers and
 * consumers first (no new work), relay, projections, HTTP drained, pools
 * closed last. A failed start-up shuts down through the same path.
 */
export async function startServiceHost(o: ServiceHostOptions): Promise<HostedService> {
  const { container: c, config } = o;
  const logger = resolve(c, TOKENS.Logger);
  const db = resolve(c, TOKENS.Database);
  const store = resolve(c, TOKENS.EventStore);
  const bus = resolve(c, TOKENS.Bus);
  const lifecycle = createShutdown({ logger, hookTimeoutMs: config.SHUTDOWN_TIMEOUT + 5_000 });
  // Hooks run in reverse order of registration: spans still buffered are exported last.
  lifecycle.onShutdown('flush traces', () => shutdownTracing());
  lifecycle.onShutdown('close event store, bus and database pools', async () => {
    await Promise.allSettled([store.close(), bus.close()]);
    await db.destroy();
  });

  const started: HostedPart[] = [];
  const startPart = async (part: HostedPart) => {
    await part.start();
    started.push(part);
  };
  try {
    await store.ready?.();
    await runServiceMigrations(db, o.migrations);
    await bus.createTopics(o.topics);

    if ((o.projections ?? []).length > 0 || o.relay) {
      // One subscription to the service's log for every projection and the relay.
      const log = new LogFanOut({
        store,
        db,
        projections: o.projections ?? [],
        ...(o.relay ? { relay: o.relay } : {}),
        ...(config.LOG_BATCH_SIZE ? { batchSize: config.LOG_BATCH_SIZE } : {}),
        onError: (err, member) => logger.warn({ err, member }, 'log follower failed; it catches up from its checkpoint'),
      });
      await startPart({ name: 'log fan-out (projections and outbox relay)', start: () => log.start(), stop: () => log.stop() });
    }
    if (config.BUS_REPLAY_FROM_EARLIEST) {
      for (const { group, topics } of o.groups ?? []) {
        for (const topic of topics) await bus.seekToEarliest(group, topic);
        logger.warn({ group, topics }, 'BUS_REPLAY_FROM_EARLIEST: the group starts again from the earliest retained offsets');
      }
    }
    for (const [name, consumer] of Object.entries(o.consumers ?? {})) {
      await startPart({ name: `consumer ${name}`, start: () => consumer.start(), stop: () => consumer.stop() });
    }
    for (const worker of o.workers ?? []) await startPart(worker);
    await startPart(
      idempotencyPurgeSchedule(resolve(c, TOKENS.IdempotencyStore), {
        retentionMs: config.IDEMPOTENCY_RETENTION ?? 24 * 3_600_000,
        everyMs: config.IDEMPOTENCY_PURGE_EVERY ?? 10 * 60_000,
        logger,
      }),
    );

    collectRuntimeMetrics();
    const removeSources = registerMetricSources(o, bus);
    lifecycle.onShutdown('remove metric sources', () => removeSources());

    const app = createHttpApp({
      service: config.SERVICE_NAME,
      version: SERVICE_VERSION,
      description: o.description,
      routes: o.routes,
      readiness: [
        databaseReadiness(db),
        busReadiness(bus),
        ...Object.entries(o.consumers ?? {}).map(([name, consumer]) => consumerReadiness(name, consumer)),
        lifecycle.readiness(),
      ],
      logger,
      auth: resolve(c, TOKENS.TokenVerifier),
      idempotency: resolve(c, TOKENS.IdempotencyStore),
      mounts: o.mounts ?? [],
    });
    const server = await startHttpServer(app, { port: config.PORT, host: config.HOST });
    lifecycle.onShutdown('close HTTP', () => server.close(config.SHUTDOWN_TIMEOUT));
    for (const part of started) lifecycle.onShutdown(`stop ${part.name}`, () => part.stop());
    // Registered last so they run first: open streams end before HTTP drains.
    for (const mount of o.mounts ?? []) {
      if (mount.close) lifecycle.onShutdown(`close ${mount.path}`, () => mount.close?.());
    }

    logger.info({ url: server.url, port: server.port }, 'listening');
    return {
      url: server.url,
      port: server.port,
      stop: () => lifecycle.shutdown('stop requested'),
      handleSignals: () => lifecycle.handleSignals(),
    };
  } catch (err) {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    await lifecycle.shutdown('start-up failed');
    throw err;
  }
}

/**
 * What `/metrics` reads at scrape time for a running service: each consumer
 * group's lag per partition and its dead-letter topic's depth, the outbox
 * relay's lag, each projection's lag, and the service's own sources.
 */
function registerMetricSources(o: ServiceHostOptions, bus: Bus): () => void {
  const removals: (() => void)[] = [];
  for (const { group, topics } of o.groups ?? []) {
    removals.push(
      busMetrics.consumerLag.add(async () =>
        (await bus.lag(group, topics)).map((p) => ({ labels: { group, topic: p.topic, partition: String(p.partition) }, value: p.lag })),
      ),
      busMetrics.deadLetterDepth.add(async () => {
        const topic = `${group}.dead-letter`;
        return [{ labels: { group, topic }, value: await bus.depth(topic) }];
      }),
    );
  }
  const relay = o.relay;
  if (relay) {
    removals.push(outboxMetrics.lag.add(async () => [{ labels: { relay: relay.name }, value: relay.isLeader ? (await relay.status()).lag : 0 }]));
  }
  for (const runner of o.projections ?? []) {
    removals.push(projectionMetrics.lag.add(async () => {
      const status = await runner.status();
      return [{ labels: { projection: status.name }, value: status.lag }];
    }));
  }
  if (o.metrics) removals.push(o.metrics());
  return () => {
    for (const remove of removals) remove();
  };
}

/**
 * Runs `start` when the calling module is the process's entry point
 * (`node --import tsx <service>/src/main.ts`), with signal handling.
 */
export function runWhenMain(
  importMetaUrl: string,
  start: (env: NodeJS.ProcessEnv) => Promise<HostedService>,
  migrate?: (env: NodeJS.ProcessEnv) => Promise<void>,
): void {
  if (!process.argv[1] || importMetaUrl !== pathToFileURL(process.argv[1]).href) return;
  if (migrate && process.argv.slice(2).includes('--migrate')) {
    migrate(process.env).then(
      () => {
        console.log('migrations applied');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err instanceof ConfigError ? err.message : err);
        process.exit(1);
      },
    );
    return;
  }
  start(process.env).then(
    (service) => service.handleSignals(),
    (err: unknown) => {
      console.error(err instanceof ConfigError ? err.message : err);
      process.exit(1);
    },
  );
}
