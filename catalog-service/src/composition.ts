import {
  OutboxRelay,
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
  type Route,
} from '@shop/platform';
import type { Container } from 'inversify';
import type { CatalogServiceConfig } from './config';
import { CONSUMER, catalogCommandHandlers } from './integration/inbound/catalog-commands';
import { RELAYED_CATEGORIES, SOURCE, toMessages } from './integration/outbound/to-messages';
import { OrderPricing } from './pricing/order-pricing';
import { productRoutes } from './products/api';
import { Catalog } from './products/catalog';
import { productListProjection } from './products/read-models/product-list/projection';
import { ProductList } from './products/read-models/product-list/query';

export const CONFIG = token<CatalogServiceConfig>('catalog-service.Config');
export const CATALOG = token<Catalog>('catalog-service.Catalog');
export const PRODUCT_LIST = token<ProductList>('catalog-service.ProductList');
export const ORDER_PRICING = token<OrderPricing>('catalog-service.OrderPricing');
export const PRODUCT_LIST_RUNNER = token<ProjectionRunner>('catalog-service.ProductListRunner');
export const OUTBOX_RELAY = token<OutboxRelay>('catalog-service.OutboxRelay');
export const COMMAND_CONSUMER = token<Consumer>('catalog-service.CommandConsumer');
export const ROUTES = token<Route[]>('catalog-service.Routes');

/**
 * The only place that knows the adapters: Postgres event store and bus (the
 * bus adapter is picked by `BUS` in `env`), knex, pino, the JWT verifier.
 */
export function compose(config: CatalogServiceConfig, env: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindValue(c, CONFIG, config);
  bindPlatformAdapters(c, config, env);

  bindFactory(c, CATALOG, [TOKENS.EventStore, TOKENS.Clock, TOKENS.StreamCache], (store, clock, cache) => new Catalog(store, clock, cache));
  bindFactory(c, PRODUCT_LIST, [TOKENS.Database], (db) => new ProductList(db));
  bindFactory(c, ORDER_PRICING, [TOKENS.Clock], (clock) => new OrderPricing(clock));
  bindFactory(c, ROUTES, [CATALOG, PRODUCT_LIST], (catalog, list) => productRoutes(catalog, list));

  bindProjectionRunner(c, PRODUCT_LIST_RUNNER, productListProjection, { batchSize: config.LOG_BATCH_SIZE });
  // Named SOURCE, not SERVICE_NAME: the name keys the relay's checkpoint and leadership.
  bindOutboxRelay(c, OUTBOX_RELAY, config, {
    name: SOURCE,
    toMessages,
    filter: { categories: RELAYED_CATEGORIES },
    batchSize: config.LOG_BATCH_SIZE,
  });
  bindMessageConsumer(c, COMMAND_CONSUMER, CONSUMER, [ORDER_PRICING], (pricing) => catalogCommandHandlers(pricing));
  return c;
}

