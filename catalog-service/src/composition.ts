import { TOPICS } from '@shop/contracts';
import { TOKENS, defineService, serviceConfig, token } from '@shop/platform';
import { catalogMigrations } from '../migrations';
import { CONSUMER, catalogCommandHandlers } from './integration/inbound/catalog-commands';
import { RELAYED_CATEGORIES, SOURCE, toMessages } from './integration/outbound/to-messages';
import { OrderPricing } from './pricing/order-pricing';
import { productRoutes } from './products/api';
import { Catalog } from './products/catalog';
import { productListProjection } from './products/read-models/product-list/projection';
import { ProductList } from './products/read-models/product-list/query';

export const CATALOG = token<Catalog>('catalog-service.Catalog');
export const PRODUCT_LIST = token<ProductList>('catalog-service.ProductList');
export const ORDER_PRICING = token<OrderPricing>('catalog-service.OrderPricing');

/** The catalog service: products and their prices; prices order lines for the coordinator. */
export const catalogService = defineService({
  description: 'Products, prices and availability for sale.',
  config: serviceConfig('catalog-service'),
  migrations: { set: 'catalog', migrations: catalogMigrations },
  provides: (provide) => [
    provide(CATALOG, (get) => new Catalog(get(TOKENS.EventStore), get(TOKENS.Clock), get(TOKENS.StreamCache))),
    provide(PRODUCT_LIST, (get) => new ProductList(get(TOKENS.Database))),
    provide(ORDER_PRICING, (get) => new OrderPricing(get(TOKENS.Clock))),
  ],
  consumes: { 'catalog-commands': { group: CONSUMER, handlers: (get) => catalogCommandHandlers(get(ORDER_PRICING)) } },
  publishes: { source: SOURCE, toMessages, topics: [TOPICS.catalogEvents], filter: { categories: RELAYED_CATEGORIES } },
  projections: [productListProjection],
  routes: (get) => productRoutes(get(CATALOG), get(PRODUCT_LIST)),
});
