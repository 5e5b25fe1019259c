import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { loadConfig, resolve, runWhenMain, startServiceHost, type HostedService } from '@shop/platform';
import { orderMigrations } from '../migrations';
import { COMMAND_CONSUMER, ORDERS, ORDERS_PROJECTION, OUTBOX_RELAY, compose } from './composition';
import { configShape } from './config';
import { orderRoutes } from './orders/api';

export type RunningService = HostedService;

/**
 * Builds the service from the environment and starts it through the
 * platform's service host: migrations, topics, the orders projection, the
 * outbox relay, the command consumer, then HTTP; `stop()` undoes it in the
 * opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  return startServiceHost({
    container: c,
    config,
    description: 'Orders and payments (through a payment-provider port).',
    migrations: { set: 'order', migrations: orderMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: [resolve(c, ORDERS_PROJECTION)],
    relay: resolve(c, OUTBOX_RELAY),
    consumers: { 'order-commands': resolve(c, COMMAND_CONSUMER) },
    routes: orderRoutes(resolve(c, ORDERS)),
  });
}

runWhenMain(import.meta.url, startService);
