import { z } from 'zod';
import { defineMessage } from './message';
import { Money, OrderId, OrderLine, PricedLine, Sku, Timestamp } from './shared';
import { TOPICS } from './topics';

export const ProductAdded = defineMessage({
  type: 'catalog.product-added',
  version: 1,
  kind: 'event',
  topic: TOPICS.catalogEvents,
  schema: z.object({
    sku: Sku,
    name: z.string().min(1).max(200),
    description: z.string().max(5_000),
    category: z.string().min(1).max(100),
    price: Money,
    addedAt: Timestamp,
  }),
  key: (d) => d.sku,
  producer: 'catalog-service',
  consumers: ['analytics-service'],
  description: 'A product was added to the catalog, for sale at its price.',
});

export const ProductPriceChanged = defineMessage({
  type: 'catalog.product-price-changed',
  version: 1,
  kind: 'event',
  topic: TOPICS.catalogEvents,
  schema: z.object({ sku: Sku, price: Money, previousPrice: Money, changedAt: Timestamp }),
  key: (d) => d.sku,
  producer: 'catalog-service',
  consumers: ['analytics-service'],
  description: "A product's price changed; orders already priced keep their price.",
});

export const ProductDiscontinued = defineMessage({
  type: 'catalog.product-discontinued',
  version: 1,
  kind: 'event',
  topic: TOPICS.catalogEvents,
  schema: z.object({ sku: Sku, discontinuedAt: Timestamp }),
  key: (d) => d.sku,
  producer: 'catalog-service',
  consumers: ['analytics-service'],
  description: 'A product is no longer for sale; pricing it is rejected.',
});

export const PriceOrderLines = defineMessage({
  type: 'catalog.price-order-lines',
  version: 1,
  kind: 'command',
  topic: TOPICS.catalogCommands,
  schema: z.object({ orderId: OrderId, lines: z.array(OrderLine).min(1).max(100) }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['catalog-service'],
  description: 'Price these order lines at the current catalog prices.',
});

export const OrderLinesPriced = defineMessage({
  type: 'catalog.order-lines-priced',
  version: 1,
  kind: 'event',
  topic: TOPICS.catalogEvents,
  schema: z.object({ orderId: OrderId, lines: z.array(PricedLine).min(1), total: Money }),
  key: (d) => d.orderId,
  producer: 'catalog-service',
  consumers: ['coordinator-service'],
  description: 'Reply: every line priced; the total is in one currency.',
});

export const OrderLinesPricingRejected = defineMessage({
  type: 'catalog.order-lines-pricing-rejected',
  version: 1,
  kind: 'event',
  topic: TOPICS.catalogEvents,
  schema: z.object({
    orderId: OrderId,
    unknownSkus: z.array(Sku),
    discontinuedSkus: z.array(Sku),
    reason: z.string(),
  }),
  key: (d) => d.orderId,
  producer: 'catalog-service',
  consumers: ['coordinator-service'],
  description: 'Reply: the lines cannot be priced; names the unknown and discontinued SKUs.',
});

export const catalogMessages = [
  ProductAdded,
  ProductPriceChanged,
  ProductDiscontinued,
  PriceOrderLines,
  OrderLinesPriced,
  OrderLinesPricingRejected,
] as const;
