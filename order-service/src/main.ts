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
import { orderMigrations } from '../migrations';
import { COMMAND_CONSUMER, ORDERS, ORDERS_PROJECTION, OUTBOX_RELAY, compose } from './composition';
import { configShape } from './config';
import { orderRoutes } from './orders/api';

export interface RunningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Builds the service from the environment, migrates, creates the topics,
 * starts the projection, the outbox relay, the command consumer and HTTP.
 * `stop()` undoes it in the opposite order: consumer, relay, projection,
 * HTTP, then the pools they all used.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const logger = resolve(c, TOKENS.Logger);
  const db = resolve(c, TOKENS.Database);
  const store = resolve(c, TOKENS.EventStore);
  const bus = resolve(c, TOKENS.Bus);
  const projection = resolve(c, ORDERS_PROJECTION);
  const relay = resolve(c, OUTBOX_RELAY);
  const consumer = resolve(c, COMMAND_CONSUMER);
  const lifecycle = createShutdown({ logger, hookTimeoutMs: config.SHUTDOWN_TIMEOUT + 5_000 });
  let server: RunningHttpServer | undefined;

  // Hooks run in reverse order of registration. Each is safe when its part
  // never started, so a failed start-up shuts down through the same path.
  lifecycle.onShutdown('close store, bus and database pools', async () => {
    await store.close();
    await bus.close();
    await db.destroy();
  });
  lifecycle.onShutdown('close HTTP', () => server?.close(config.SHUTDOWN_TIMEOUT));
  lifecycle.onShutdown('stop orders projection', () => projection.stop());
  lifecycle.onShutdown('stop outbox relay', () => relay.stop());
  lifecycle.onShutdown('stop command consumer', () => consumer.stop());

  try {
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'projections', projectionMigrations);
    await runMigrations(db, 'outbox', outboxMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    await runMigrations(db, 'http_idempotency', idempotencyMigrations);
    await runMigrations(db, 'order', orderMigrations);
    await bus.createTopics(ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })));

    await projection.init();
    await projection.start();
    await relay.start();
    await consumer.start();

    const app = createHttpApp({
      service: config.SERVICE_NAME,
      version: '1.0.0',
      description: 'Orders and payments (through a payment-provider port).',
      routes: orderRoutes(resolve(c, ORDERS)),
      readiness: [databaseReadiness(db), busReadiness(bus), consumerReadiness('order-commands', consumer), lifecycle.readiness()],
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
