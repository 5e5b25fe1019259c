import { CommitReservation, ReleaseStock, ReserveStock, contracts } from '@shop/contracts';
import { MessageHandlers } from '@shop/platform';
import type { Reservations } from '../../reservations/reservations';

export const CONSUMER_GROUP = 'inventory-service';

/**
 * The consumer of `inventory.commands`: contract message → local command.
 * The platform's message path decodes and validates, skips what the inbox
 * records, and commits what the command decided (the order's stream and
 * every SKU's) with the inbox record; the replies are the local events, which
 * the outbox relay publishes.
 */
export function inventoryCommandHandlers(reservations: Reservations): MessageHandlers {
  return new MessageHandlers(contracts)
    .on(ReserveStock, (message, work) => reservations.reserve(work, { orderId: message.data.orderId, lines: message.data.lines }))
    .on(ReleaseStock, (message, work) => reservations.release(work, { orderId: message.data.orderId }))
    .on(CommitReservation, (message, work) => reservations.commit(work, { orderId: message.data.orderId }));
}
