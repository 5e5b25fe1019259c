import type { Container } from 'inversify';
import { TOPICS } from '@shop/contracts';
import {
  OutboxRelay,
  PeriodicTask,
  TOKENS,
  bindFactory,
  bindMessageConsumer,
  bindOutboxRelay,
  bindPlatformAdapters,
  bindValue,
  createContainer,
  projectionRunner,
  token,
  type Consumer,
  type Projection,
} from '@shop/platform';
import { AlertEvaluator } from './alerts/alert-evaluator';
import { SOURCE, alertEventToMessages } from './alerts/alert-messages';
import { AlertRulesStore } from './alerts/alert-rules-store';
import { alertsProjection } from './alerts/read-models/alerts/projection';
import { ARCHIVE_CONSUMER, archiveHandlers } from './archive/archive';
import type { AnalyticsServiceConfig } from './config';
import { liveOrdersProjection } from './read-models/live-orders/projection';
import { orderFunnelProjection } from './read-models/order-funnel/projection';
import { productSalesProjection } from './read-models/product-sales/projection';
import { ReadModels } from './read-models/read-models';
import { revenueProjection } from './read-models/revenue/projection';
import { sagaDurationsProjection } from './read-models/saga-durations/projection';
import { stockLevelsProjection } from './read-models/stock-levels/projection';

export const CONFIG = token<AnalyticsServiceConfig>('analytics-service.Config');
export const READ_MODELS = token<ReadModels>('analytics-service.ReadModels');
export const ARCHIVE_CONSUMER_TOKEN = token<Consumer>('analytics-service.ArchiveConsumer');
export const ALERT_RULES = token<AlertRulesStore>('analytics-service.AlertRules');
export const ALERT_EVALUATOR = token<AlertEvaluator>('analytics-service.AlertEvaluator');
export const ALERT_EVALUATION = token<PeriodicTask>('analytics-service.AlertEvaluation');
export const OUTBOX_RELAY = token<OutboxRelay>('analytics-service.OutboxRelay');

/** Every projection, each over the archive (analytics' own event store). */
export function allProjections(): Projection[] {
  return [
    orderFunnelProjection(),
    revenueProjection(),
    productSalesProjection(),
    stockLevelsProjection(),
    liveOrdersProjection(),
    sagaDurationsProjection(),
    alertsProjection,
  ];
}

/** The integration-event topics the archive consumes (every service's facts but analytics' own). */
export const ARCHIVED_TOPICS = [TOPICS.orderEvents, TOPICS.catalogEvents, TOPICS.inventoryEvents, TOPICS.coordinatorEvents];

/**
 * The composition root: the only place that knows inversify and picks the
 * adapters. `source` is the environment, for the bus adapter's own settings.
 */
export function compose(config: AnalyticsServiceConfig, source: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindValue(c, CONFIG, config);
  // The event store bound here is the archive: analytics' own store, in its own database.
  bindPlatformAdapters(c, config, source);
  bindFactory(
    c,
    READ_MODELS,
    [CONFIG, TOKENS.Database, TOKENS.EventStore, TOKENS.Logger],
    (cfg, db, store, logger) =>
      new ReadModels(
        allProjections().map(
          (p) => projectionRunner(db, store, logger, p),
        ),
        { waitTimeoutMs: cfg.READ_YOUR_WRITES_TIMEOUT },
      ),
  );
  bindMessageConsumer(c, ARCHIVE_CONSUMER_TOKEN, ARCHIVE_CONSUMER, [], () => archiveHandlers(ARCHIVED_TOPICS));
  bindFactory(c, ALERT_RULES, [TOKENS.Database], (db) => new AlertRulesStore(db));
  bindFactory(
    c,
    ALERT_EVALUATOR,
    [TOKENS.Database, TOKENS.EventStore, ALERT_RULES, TOKENS.Clock],
    (db, store, rules, clock) => new AlertEvaluator(db, store, rules, clock),
  );
  bindFactory(
    c,
    ALERT_EVALUATION,
    [CONFIG, ALERT_EVALUATOR, TOKENS.Logger],
    (cfg, evaluator, logger) => new PeriodicTask('alert evaluation', () => evaluator.evaluateOnce(), { intervalMs: cfg.ALERT_EVALUATION_INTERVAL, logger }),
  );
  // Alert events (stream category `alert`, in the same store as the archive) leave through the outbox.
  bindOutboxRelay(c, OUTBOX_RELAY, config, { name: SOURCE, toMessages: alertEventToMessages, filter: { categories: ['alert'] } });
  return c;
}
