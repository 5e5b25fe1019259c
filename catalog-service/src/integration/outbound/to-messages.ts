import {
  OrderLinesPriced,
  OrderLinesPricingRejected,
  ProductAdded,
  ProductDiscontinued,
  ProductPriceChanged,
} from '@shop/contracts';
import { INTERNAL, combineCodecs, outboundMessages, send } from '@shop/platform';
import { pricingCodec, type PricingEvent } from '../../pricing/pricing';
import { productCodec, type ProductEvent } from '../../products/product';

export const SOURCE = 'catalog-service';

/** The streams whose events may leave the service. */
export const RELAYED_CATEGORIES = ['product', 'pricing'];

/**
 * The outbox relay's mapping from stored events to contract messages, one
 * entry per event type (a new event type without one fails the type check).
 * `ProductDetailsChanged` stays inside the service: no contract carries it
 * and no other service needs it. The stored events are read back with the
 * codecs of both aggregates.
 */
export const toMessages = outboundMessages<ProductEvent | PricingEvent>(
  SOURCE,
  {
    ProductAdded: (e) =>
      send(ProductAdded, { sku: e.sku, name: e.name, description: e.description, category: e.category, price: e.price, addedAt: e.addedAt }),
    ProductPriceChanged: (e) => send(ProductPriceChanged, { sku: e.sku, price: e.price, previousPrice: e.previousPrice, changedAt: e.changedAt }),
    ProductDiscontinued: (e) => send(ProductDiscontinued, { sku: e.sku, discontinuedAt: e.discontinuedAt }),
    ProductDetailsChanged: INTERNAL,
    OrderLinesPriced: (e) => send(OrderLinesPriced, { orderId: e.orderId, lines: e.lines, total: e.total }),
    OrderLinesPricingRejected: (e) =>
      send(OrderLinesPricingRejected, { orderId: e.orderId, unknownSkus: e.unknownSkus, discontinuedSkus: e.discontinuedSkus, reason: e.reason }),
  },
  combineCodecs<ProductEvent | PricingEvent>(productCodec, pricingCodec),
);
