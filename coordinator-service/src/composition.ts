import { TOPICS } from '@shop/contracts';
import { TOKENS, defineService, sagaMetrics, token } from '@shop/platform';
import { coordinatorMigrations } from '../migrations';
import { configShape, deadlineSettings } from './config';
import { DeadlinePoller } from './deadlines/deadline-poller';
import { sagaDeadlinesProjection } from './deadlines/read-models/deadlines/projection';
import { COORDINATOR_CONSUMER, participantEventHandlers } from './integration/inbound/participant-events';
import { SOURCE, sagaEventToMessages } from './integration/outbound/to-messages';
import { sagaRoutes } from './sagas/api';
import { sagaListProjection } from './sagas/read-models/saga-list/projection';
import { countSagaEvents, stuckSagasSource } from './sagas/saga-metrics';
import { Sagas } from './sagas/sagas';

export const SAGAS = token<Sagas>('coordinator-service.Sagas');

const COMMAND_TOPICS = [TOPICS.catalogCommands, TOPICS.inventoryCommands, TOPICS.orderCommands];

/** The coordinator: the place-order and cancel-order sagas, their deadlines and the operators' API. */
export const coordinatorService = defineService({
  description: 'Saga coordinator: place-order and cancel-order sagas, with compensation, deadlines and operator controls.',
  config: configShape,
  migrations: { set: 'coordinator', migrations: coordinatorMigrations },
  provides: (provide) => [provide(SAGAS, (get, config) => new Sagas(get(TOKENS.EventStore), get(TOKENS.Clock), deadlineSettings(config)))],
  consumes: { 'participant-events': { group: COORDINATOR_CONSUMER, handlers: (get) => participantEventHandlers(get(SAGAS)) } },
  publishes: { source: SOURCE, toMessages: sagaEventToMessages, topics: [...COMMAND_TOPICS, TOPICS.coordinatorEvents], filter: { categories: ['saga'] } },
  projections: [sagaListProjection, sagaDeadlinesProjection],
  tasks: [
    {
      name: 'deadline poller',
      everyMs: (config) => config.DEADLINE_POLL_MS,
      run: (get) => {
        const poller = new DeadlinePoller(get(TOKENS.Database), get(TOKENS.EventStore), get(SAGAS), { cache: get(TOKENS.StreamCache) });
        return () => poller.pollOnce();
      },
    },
  ],
  metrics: (get, config) => () => {
    const unobserve = get(TOKENS.EventStore).onCommitted?.(countSagaEvents);
    const unsource = sagaMetrics.stuck.add(stuckSagasSource(get(TOKENS.Database), { stuckAfterMs: config.SAGA_STUCK_AFTER_MS, now: () => get(TOKENS.Clock).now() }));
    return () => {
      unobserve?.();
      unsource();
    };
  },
  routes: (get, config) =>
    sagaRoutes({
      sagas: get(SAGAS),
      db: get(TOKENS.Database),
      store: get(TOKENS.EventStore),
      cache: get(TOKENS.StreamCache),
      stuckAfterMs: config.SAGA_STUCK_AFTER_MS,
      now: () => get(TOKENS.Clock).now(),
    }),
});
