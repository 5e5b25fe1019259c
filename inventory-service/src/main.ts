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
import { inventoryMigrations } from '../migrations';
import { COMMAND_CONSUMER, OUTBOX_RELAY, STOCK_LEDGER, STOCK_LEVELS_RUNNER, compose } from './composition';
import { configShape } from './config';
import { stockRoutes } from './stock/api';

/**
 * Builds the service from the environment and starts it: migrations, topics,
 * the stock-levels projection, the outbox relay, the command consumer, HTTP.
 * `stop()` undoes it in the reverse order: consumer, relay, projection, HTTP,
 * then the store, bus and database pools.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const logger = resolve(c, TOKENS.Logger);
  const db = resolve(c, TOKENS.Database);
  const store = resolve(c, TOKENS.EventStore);
  const bus = resolve(c, TOKENS.Bus);
  const lifecycle = createShutdown({ logger, hookTimeoutMs: Math.max(config.SHUTDOWN_TIMEOUT + 5_000, 15_000) });

  lifecycle.onShutdown('close store, bus and database pools', async () => {
    await Promise.allSettled([store.close(), bus.close()]);
    await db.destroy();
  });
  let server: RunningHttpServer | undefined;
  lifecycle.onShutdown('close HTTP', () => server?.close(config.SHUTDOWN_TIMEOUT));

  try {
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'projections', projectionMigrations);
    await runMigrations(db, 'outbox', outboxMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    await runMigrations(db, 'http_idempotency', idempotencyMigrations);
    await runMigrations(db, 'inventory', inventoryMigrations);
    await bus.createTopics(ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })));

    const runner = resolve(c, STOCK_LEVELS_RUNNER);
    await runner.init();
    await runner.start();
    lifecycle.onShutdown('stop stock-levels projection', () => runner.stop());

    const relay = resolve(c, OUTBOX_RELAY);
    await relay.start();
    lifecycle.onShutdown('stop outbox relay', () => relay.stop());

    const consumer = resolve(c, COMMAND_CONSUMER);
    await consumer.start();
    lifecycle.onShutdown('stop command consumer', () => consumer.stop());

    const app = createHttpApp({
      service: config.SERVICE_NAME,
      version: '1.0.0',
      description: 'Stock per SKU and reservations per order.',
      routes: stockRoutes({ ledger: resolve(c, STOCK_LEDGER), db, clock: resolve(c, TOKENS.Clock) }),
      readiness: [databaseReadiness(db), busReadiness(bus), consumerReadiness('inventory.commands', consumer), lifecycle.readiness()],
      logger,
      auth: resolve(c, TOKENS.TokenVerifier),
    });
    server = await startHttpServer(app, { port: config.PORT, host: config.HOST });
  } catch (err) {
    await lifecycle.shutdown('start-up failed');
    throw err;
  }

  const { url, port } = server;
  logger.info({ url, port }, 'listening');
  return { url, port, stop: () => lifecycle.shutdown() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const service = await startService(process.env);
  onShutdownSignal(() => service.stop());
}
