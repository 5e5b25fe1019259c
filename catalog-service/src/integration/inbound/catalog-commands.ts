import { PriceOrderLines, contracts } from '@shop/contracts';
import { MessageHandlers } from '@shop/platform';
import type { OrderPricing } from '../../pricing/order-pricing';

/** The consumer group, and the inbox's consumer name. */
export const CONSUMER = 'catalog-service';

/**
 * The coordinator's commands on `catalog.commands`. The platform's message
 * path decodes and validates each message, skips what the inbox records,
 * and commits the pricing decided here together with the inbox record; the
 * reply leaves through the outbox relay.
 */
export function catalogCommandHandlers(pricing: OrderPricing): MessageHandlers {
  return new MessageHandlers(contracts).on(PriceOrderLines, (message, work) => pricing.price(work, message.data));
}
