import { ALL_TOPICS, TOPIC_PARTITIONS } from '@shop/contracts';
import { TOKENS, loadConfig, resolve, runWhenMain, startServiceHost, type HostedService } from '@shop/platform';
import { coordinatorMigrations } from '../migrations';
import { DEADLINES_PROJECTION, DEADLINE_POLLER, EVENT_CONSUMER, OUTBOX_RELAY, SAGAS, SAGA_LIST_PROJECTION, compose } from './composition';
import { configShape } from './config';
import { sagaRoutes } from './sagas/api';

export type RunningService = HostedService;

/**
 * Builds the coordinator from the environment and starts it through the
 * platform's service host: migrations, topics, the saga list projection, the
 * outbox relay, the consumer of the participants' events, the deadline
 * poller, then HTTP; `stop()` undoes it in the opposite order.
 */
export async function startService(env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(configShape, env);
  const c = compose(config, env);
  const poller = resolve(c, DEADLINE_POLLER);
  return startServiceHost({
    container: c,
    config,
    description: 'Saga coordinator: place-order and cancel-order sagas, with compensation, deadlines and operator controls.',
    migrations: { set: 'coordinator', migrations: coordinatorMigrations },
    topics: ALL_TOPICS.map((name) => ({ name, partitions: TOPIC_PARTITIONS })),
    projections: [resolve(c, SAGA_LIST_PROJECTION), resolve(c, DEADLINES_PROJECTION)],
    relay: resolve(c, OUTBOX_RELAY),
    consumers: { 'participant-events': resolve(c, EVENT_CONSUMER) },
    workers: [poller],
    routes: sagaRoutes({
      sagas: resolve(c, SAGAS),
      db: resolve(c, TOKENS.Database),
      store: resolve(c, TOKENS.EventStore),
      cache: resolve(c, TOKENS.StreamCache),
      stuckAfterMs: config.SAGA_STUCK_AFTER_MS,
      now: () => resolve(c, TOKENS.Clock).now(),
    }),
  });
}

runWhenMain(import.meta.url, startService);
