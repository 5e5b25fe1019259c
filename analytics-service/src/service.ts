import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { TOKENS, loadConfig, resolve, startServiceHost, type HostedService } from '@shop/platform';
import { analyticsMigrations } from '../migrations';
import { analyticsRoutes } from './api';
import { ARCHIVE_CONSUMER_TOKEN, READ_MODELS, compose } from './composition';
import { configShape } from './config';

export type RunningService = HostedService;

/**
 * The service wiring, with the contract of the other services' `main.ts`
 * (`startService(env)`). There is deliberately no `main.ts` yet: the
 * local-stack launcher starts every service that has one, and this one joins
 * the stack in a later step.
 *
 * Through the platform's service host: migrations, topics, the projections
 * over the archive, the archive consumer, then HTTP; `stop()` undoes it in
 * the opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const readModels = resolve(c, READ_MODELS);
  return startServiceHost({
    container: c,
    config,
    description: 'Analytics: an archive of every integration event, projections over it, and their read API (admins).',
    migrations: { set: 'analytics', migrations: analyticsMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: readModels.runners,
    consumers: { 'analytics-archive': resolve(c, ARCHIVE_CONSUMER_TOKEN) },
    routes: analyticsRoutes(resolve(c, TOKENS.Database), readModels),
  });
}
