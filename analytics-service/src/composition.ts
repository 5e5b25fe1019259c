import type { Container } from 'inversify';
import { TOPICS } from '@shop/contracts';
import {
  TOKENS,
  bindFactory,
  bindPlatformAdapters,
  bindValue,
  createContainer,
  projectionRunner,
  token,
  type Consumer,
  type Projection,
} from '@shop/platform';
import { ARCHIVE_CONSUMER, archiveHandler } from './archive/archive';
import type { AnalyticsServiceConfig } from './config';
import { liveOrdersProjection } from './read-models/live-orders/projection';
import { orderFunnelProjection } from './read-models/order-funnel/projection';
import { productSalesProjection } from './read-models/product-sales/projection';
import { ReadModels } from './read-models/read-models';
import { revenueProjection } from './read-models/revenue/projection';
import { stockLevelsProjection } from './read-models/stock-levels/projection';

export const CONFIG = token<AnalyticsServiceConfig>('analytics-service.Config');
export const READ_MODELS = token<ReadModels>('analytics-service.ReadModels');
export const ARCHIVE_CONSUMER_TOKEN = token<Consumer>('analytics-service.ArchiveConsumer');

/** Every projection, each over the archive (analytics' own event store). */
export function allProjections(): Projection[] {
  return [orderFunnelProjection(), revenueProjection(), productSalesProjection(), stockLevelsProjection(), liveOrdersProjection()];
}

/** The integration-event topics the archive consumes. */
export const ARCHIVED_TOPICS = [TOPICS.orderEvents, TOPICS.catalogEvents, TOPICS.inventoryEvents];

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
  bindFactory(c, ARCHIVE_CONSUMER_TOKEN, [TOKENS.Bus, TOKENS.EventStore], (bus, store) =>
    bus.consumer({ groupId: ARCHIVE_CONSUMER, topics: ARCHIVED_TOPICS, handler: archiveHandler(store) }),
  );
  return c;
}
