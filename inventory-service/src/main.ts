import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { TOKENS, loadConfig, resolve, runWhenMain, startServiceHost, type HostedService } from '@shop/platform';
import { inventoryMigrations } from '../migrations';
import { COMMAND_CONSUMER, OUTBOX_RELAY, STOCK_LEDGER, STOCK_LEVELS_RUNNER, compose } from './composition';
import { configShape } from './config';
import { stockRoutes } from './stock/api';

export type RunningService = HostedService;

/**
 * Builds the service from the environment and starts it through the
 * platform's service host: migrations, topics, the stock-levels projection,
 * the outbox relay, the command consumer, then HTTP; `stop()` undoes it in
 * the opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  return startServiceHost({
    container: c,
    config,
    description: 'Stock per SKU and reservations per order.',
    migrations: { set: 'inventory', migrations: inventoryMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: [resolve(c, STOCK_LEVELS_RUNNER)],
    relay: resolve(c, OUTBOX_RELAY),
    consumers: { 'inventory.commands': resolve(c, COMMAND_CONSUMER) },
    routes: stockRoutes({ ledger: resolve(c, STOCK_LEDGER), db: resolve(c, TOKENS.Database), clock: resolve(c, TOKENS.Clock) }),
  });
}

runWhenMain(import.meta.url, startService);
