import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { loadConfig, resolve, runWhenMain, startServiceHost, type HostedService } from '@shop/platform';
import { catalogMigrations } from '../migrations';
import { COMMAND_CONSUMER, OUTBOX_RELAY, PRODUCT_LIST_RUNNER, ROUTES, compose } from './composition';
import { configShape } from './config';

export type RunningService = HostedService;

/**
 * Builds the service from the environment and starts it through the
 * platform's service host: migrations, topics, the product-list projection,
 * the outbox relay, the command consumer, then HTTP; `stop()` undoes it in
 * the opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  return startServiceHost({
    container: c,
    config,
    description: 'Products, prices and availability for sale.',
    migrations: { set: 'catalog', migrations: catalogMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: [resolve(c, PRODUCT_LIST_RUNNER)],
    relay: resolve(c, OUTBOX_RELAY),
    consumers: { 'catalog-commands': resolve(c, COMMAND_CONSUMER) },
    routes: resolve(c, ROUTES),
  });
}

runWhenMain(import.meta.url, startService);
