import type { Container } from 'inversify';
import {
  OutboxRelay,
  PeriodicTask,
  ProjectionRunner,
  TOKENS,
  bindFactory,
  bindMessageConsumer,
  bindOutboxRelay,
  bindPlatformAdapters,
  bindProjectionRunner,
  bindValue,
  createContainer,
  token,
  type Consumer,
} from '@shop/platform';
import { deadlineSettings, type CoordinatorConfig } from './config';
import { DeadlinePoller } from './deadlines/deadline-poller';
import { sagaDeadlinesProjection } from './deadlines/deadlines-projection';
import { COORDINATOR_CONSUMER, participantEventHandlers } from './integration/inbound/participant-events';
import { SOURCE, sagaEventToMessages } from './integration/outbound/to-messages';
import { sagaListProjection } from './sagas/read-models/saga-list/projection';
import { Sagas } from './sagas/sagas';

export const CONFIG = token<CoordinatorConfig>('coordinator-service.Config');
export const SAGAS = token<Sagas>('coordinator-service.Sagas');
export const SAGA_LIST_PROJECTION = token<ProjectionRunner>('coordinator-service.SagaListProjection');
export const DEADLINES_PROJECTION = token<ProjectionRunner>('coordinator-service.DeadlinesProjection');
export const OUTBOX_RELAY = token<OutboxRelay>('coordinator-service.OutboxRelay');
export const EVENT_CONSUMER = token<Consumer>('coordinator-service.EventConsumer');
export const DEADLINE_POLLER = token<PeriodicTask>('coordinator-service.DeadlinePoller');

/** The composition root: the only place that knows inversify and picks the adapters. */
export function compose(config: CoordinatorConfig, source: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindValue(c, CONFIG, config);
  bindPlatformAdapters(c, config, source);
  bindFactory(c, SAGAS, [CONFIG, TOKENS.EventStore, TOKENS.Clock], (cfg, store, clock) => new Sagas(store, clock, deadlineSettings(cfg)));
  bindProjectionRunner(c, SAGA_LIST_PROJECTION, sagaListProjection);
  bindProjectionRunner(c, DEADLINES_PROJECTION, sagaDeadlinesProjection);
  bindOutboxRelay(c, OUTBOX_RELAY, config, { name: SOURCE, toMessages: sagaEventToMessages, filter: { categories: ['saga'] } });
  bindMessageConsumer(c, EVENT_CONSUMER, COORDINATOR_CONSUMER, [SAGAS], (sagas) => participantEventHandlers(sagas));
  bindFactory(
    c,
    DEADLINE_POLLER,
    [CONFIG, TOKENS.Database, TOKENS.EventStore, TOKENS.StreamCache, SAGAS, TOKENS.Logger],
    (cfg, db, store, cache, sagas, logger) => {
      const poller = new DeadlinePoller(db, store, sagas, { cache });
      return new PeriodicTask('deadline poller', () => poller.pollOnce(), { intervalMs: cfg.DEADLINE_POLL_MS, logger });
    },
  );
  return c;
}
