import { PriceOrderLines, UnknownMessageError, contracts, decodeContract, type MessageData } from '@shop/contracts';
import { deterministicId, isHandled, markHandled, type ConsumedMessage } from '@shop/platform';
import type { Knex } from 'knex';
import type { OrderPricing } from '../../pricing/order-pricing';

/** The consumer group, and the inbox's consumer name. */
export const CONSUMER = 'catalog-service';

/**
 * Handles the coordinator's commands on `catalog.commands`.
 *
 * Exactly-once effect over at-least-once delivery, in three layers:
 * 1. a message whose id is in the inbox was handled: skip it;
 * 2. the effect is an event-store append whose event ids derive from the
 *    message id, and the pricing decision is idempotent per order (a second
 *    command for the order decides nothing), so a redelivery after a crash
 *    between the append and the inbox record changes nothing;
 * 3. the inbox row is recorded after the append succeeded, in its own
 *    transaction (the append cannot share a transaction with it).
 * The reply is not published here: the relay publishes the appended event.
 */
export function catalogCommandHandler(deps: { db: Knex; pricing: OrderPricing }): (message: ConsumedMessage) => Promise<void> {
  return async (message) => {
    const { envelope, definition, data } = decodeContract(contracts, message);
    if (definition.type !== PriceOrderLines.type) {
      throw new UnknownMessageError(`${CONSUMER} does not handle ${definition.type} on ${message.topic}`);
    }
    if (await isHandled(deps.db, CONSUMER, envelope.id)) return;
    const command = data as MessageData<typeof PriceOrderLines>;
    await deps.pricing.price(command, {
      eventId: (i) => deterministicId(envelope.id, i),
      metadata: {
        correlationId: envelope.correlationid,
        causationId: envelope.id,
        ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
      },
    });
    await markHandled(deps.db, CONSUMER, envelope.id);
  };
}

