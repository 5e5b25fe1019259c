import {
  OrderLinesPriced,
  OrderLinesPricingRejected,
  ProductAdded,
  ProductDiscontinued,
  ProductPriceChanged,
  buildMessage,
  type MessageMetadata,
} from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { PricingEvent } from '../../pricing/pricing';
import type { ProductEvent } from '../../products/product';

export const SOURCE = 'catalog-service';

/** The streams whose events may leave the service. */
export const RELAYED_CATEGORIES = ['product', 'pricing'];

/**
 * The outbox relay's mapping from stored events to contract messages. The
 * message id is the event id, so a page republished after a crash carries the
 * same ids and consumers' inboxes absorb it. `ProductDetailsChanged` stays
 * inside the service: no contract carries it and no other service needs it.
 */
export function toMessages(event: RecordedEvent): OutgoingMessage[] {
  const meta: MessageMetadata = {
    id: event.id,
    source: SOURCE,
    correlationId: event.metadata.correlationId ?? event.id,
    ...(event.metadata.causationId ? { causationId: event.metadata.causationId } : {}),
    ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
    time: event.recordedAt.toISOString(),
  };
  const e = { type: event.type, ...(event.data as object) } as ProductEvent | PricingEvent;
  switch (e.type) {
    case 'ProductAdded':
      return [
        buildMessage(
          ProductAdded,
          { sku: e.sku, name: e.name, description: e.description, category: e.category, price: e.price, addedAt: e.addedAt },
          meta,
        ),
      ];
    case 'ProductPriceChanged':
      return [buildMessage(ProductPriceChanged, { sku: e.sku, price: e.price, previousPrice: e.previousPrice, changedAt: e.changedAt }, meta)];
    case 'ProductDiscontinued':
      return [buildMessage(ProductDiscontinued, { sku: e.sku, discontinuedAt: e.discontinuedAt }, meta)];
    case 'OrderLinesPriced':
      return [buildMessage(OrderLinesPriced, { orderId: e.orderId, lines: e.lines, total: e.total }, meta)];
    case 'OrderLinesPricingRejected':
      return [
        buildMessage(
          OrderLinesPricingRejected,
          { orderId: e.orderId, unknownSkus: e.unknownSkus, discontinuedSkus: e.discontinuedSkus, reason: e.reason },
          meta,
        ),
      ];
    case 'ProductDetailsChanged':
      return [];
    default:
      return [];
  }
}
