import { pathToFileURL } from 'node:url';
import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import {
  TOKENS,
  busReadiness,
  consumerReadiness,
  createHttpApp,
  createShutdown,
  databaseReadiness,
  eventStoreMigrations,
  idempotencyMigrations,
  inboxMigrations,
  loadConfig,
  onShutdownSignal,
  outboxMigrations,
  projectionMigrations,
  resolve,
  runMigrations,
  startHttpServer,
  type RunningHttpServer,
} from '@shop/platform';
import { coordinatorMigrations } from '../migrations';
import { DEADLINE_POLLER, EVENT_CONSUMER, OUTBOX_RELAY, SAGAS, SAGA_LIST_PROJECTION, compose } from './composition';
import { configShape } from './config';
import { sagaRoutes } from './sagas/api';

export interface RunningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Builds the coordinator from the environment, migrates, creates the
 * topics, starts the saga list projection, the outbox relay, the deadline
 * poller, the consumer of the participants' events and HTTP. `stop()` undoes
 * it in the opposite order: consumer and poller, relay, projection, HTTP,
 * then the pools.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const logger = resolve(c, TOKENS.Logger);
  const db = resolve(c, TOKENS.Database);
  const store = resolve(c, TOKENS.EventStore);
  const bus = resolve(c, TOKENS.Bus);
  const projection = resolve(c, SAGA_LIST_PROJECTION);
  const relay = resolve(c, OUTBOX_RELAY);
  const consumer = resolve(c, EVENT_CONSUMER);
  const poller = resolve(c, DEADLINE_POLLER);
  const lifecycle = createShutdown({ logger, hookTimeoutMs: config.SHUTDOWN_TIMEOUT + 5_000 });
  let server: RunningHttpServer | undefined;

  // Hooks run in reverse order of registration; each is safe when its part never started.
  lifecycle.onShutdown('close store, bus and database pools', async () => {
    await store.close();
    await bus.close();
    await db.destroy();
  });
  lifecycle.onShutdown('close HTTP', () => server?.close(config.SHUTDOWN_TIMEOUT));
  lifecycle.onShutdown('stop saga list projection', () => projection.stop());
  lifecycle.onShutdown('stop outbox relay', () => relay.stop());
  lifecycle.onShutdown('stop deadline poller', () => poller.stop());
  lifecycle.onShutdown('stop event consumer', () => consumer.stop());

  try {
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'projections', projectionMigrations);
    await runMigrations(db, 'outbox', outboxMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    await runMigrations(db, 'http_idempotency', idempotencyMigrations);
    await runMigrations(db, 'coordinator', coordinatorMigrations);
    await bus.createTopics(ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })));

    await projection.init();
    await projection.start();
    await relay.start();
    poller.start();
    await consumer.start();

    const app = createHttpApp({
      service: config.SERVICE_NAME,
      version: '1.0.0',
      description: 'Saga coordinator: place-order and cancel-order sagas, with compensation, deadlines and operator controls.',
      routes: sagaRoutes({ sagas: resolve(c, SAGAS), db, stuckAfterMs: config.SAGA_STUCK_AFTER_MS, now: () => resolve(c, TOKENS.Clock).now() }),
      readiness: [databaseReadiness(db), busReadiness(bus), consumerReadiness('participant-events', consumer), lifecycle.readiness()],
      logger,
      auth: resolve(c, TOKENS.TokenVerifier),
      idempotency: resolve(c, TOKENS.IdempotencyStore),
    });
    server = await startHttpServer(app, { port: config.PORT, host: config.HOST });
  } catch (err) {
    await lifecycle.shutdown('start-up failed');
    throw err;
  }

  logger.info({ url: server.url, port: server.port }, 'listening');
  return { url: server.url, port: server.port, stop: () => lifecycle.shutdown('stop requested') };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startService(process.env)
    .then((service) => onShutdownSignal(() => service.stop()))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
