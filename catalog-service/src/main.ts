import { pathToFileURL } from 'node:url';
import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import {
  ConfigError,
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
  outboxMigrations,
  projectionMigrations,
  resolve,
  runMigrations,
  startHttpServer,
  type RunningHttpServer,
} from '@shop/platform';
import { catalogMigrations } from '../migrations';
import { COMMAND_CONSUMER, OUTBOX_RELAY, PRODUCT_LIST_RUNNER, ROUTES, compose } from './composition';
import { configShape } from './config';

export interface RunningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Builds the service from the environment, migrates its database, and starts,
 * in order: the product-list projection, the outbox relay, the command
 * consumer and HTTP. `stop()` stops the consumer (no new commands), the relay,
 * the projection, then drains HTTP and closes the pools last.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService & { handleSignals(): () => void }> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const logger = resolve(c, TOKENS.Logger);
  const db = resolve(c, TOKENS.Database);
  const store = resolve(c, TOKENS.EventStore);
  const bus = resolve(c, TOKENS.Bus);
  const lifecycle = createShutdown({ logger, hookTimeoutMs: config.SHUTDOWN_TIMEOUT + 5_000 });
  // Registered first, so it runs last: everything above still needs the pools.
  lifecycle.onShutdown('close event store, bus and database pools', async () => {
    await Promise.allSettled([store.close(), bus.close()]);
    await db.destroy();
  });

  const stops: { name: string; run: () => Promise<void> }[] = [];
  try {
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'projections', projectionMigrations);
    await runMigrations(db, 'outbox', outboxMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    await runMigrations(db, 'http_idempotency', idempotencyMigrations);
    await runMigrations(db, 'catalog', catalogMigrations);
    await bus.createTopics(ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })));

    const projection = resolve(c, PRODUCT_LIST_RUNNER);
    await projection.init();
    await projection.start();
    stops.push({ name: 'stop projections', run: () => projection.stop() });

    const relay = resolve(c, OUTBOX_RELAY);
    await relay.start();
    stops.push({ name: 'stop outbox relay', run: () => relay.stop() });

    const consumer = resolve(c, COMMAND_CONSUMER);
    await consumer.start();
    stops.push({ name: 'stop command consumer', run: () => consumer.stop() });

    const app = createHttpApp({
      service: config.SERVICE_NAME,
      version: '1.0.0',
      description: 'Products, prices and availability for sale.',
      routes: resolve(c, ROUTES),
      readiness: [databaseReadiness(db), busReadiness(bus), consumerReadiness('catalog-commands', consumer), lifecycle.readiness()],
      logger,
      auth: resolve(c, TOKENS.TokenVerifier),
    });
    const server: RunningHttpServer = await startHttpServer(app, { port: config.PORT, host: config.HOST });
    // HTTP drains after the background workers have stopped (the hooks run in reverse).
    lifecycle.onShutdown('close HTTP', () => server.close(config.SHUTDOWN_TIMEOUT));
    for (const stop of stops) lifecycle.onShutdown(stop.name, stop.run);

    logger.info({ url: server.url, port: server.port }, 'listening');
    return {
      url: server.url,
      port: server.port,
      stop: () => lifecycle.shutdown('stop'),
      handleSignals: () => lifecycle.handleSignals(),
    };
  } catch (err) {
    // Start-up failed half-way: stop what started, newest first, then the pools.
    for (const stop of stops.reverse()) await stop.run().catch(() => undefined);
    await lifecycle.shutdown('start-up failed');
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startService(process.env).then(
    (service) => service.handleSignals(),
    (err: unknown) => {
      // A configuration error names every bad variable; its stack adds nothing.
      console.error(err instanceof ConfigError ? err.message : err);
      process.exit(1);
    },
  );
}
