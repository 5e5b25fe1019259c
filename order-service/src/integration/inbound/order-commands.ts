import { AuthorizePayment, CancelOrder, ConfirmOrder, RejectOrder, VoidPayment, contracts } from '@shop/contracts';
import { MessageHandlers } from '@shop/platform';
import type { Orders } from '../../orders/orders';

/** The consumer group, and the inbox's consumer name. */
export const ORDER_COMMANDS_CONSUMER = 'order-service';

/**
 * The coordinator's commands on `order.commands` -> the order's use cases.
 * The platform's message path decodes and validates, skips what the inbox
 * records, dead-letters a command that breaks a rule (confirming a rejected
 * order...) with the reason, and commits what was decided with the inbox
 * record. Replies are not published here: the events appended become the
 * contract replies through the outbox relay.
 */
export function orderCommandHandlers(orders: Orders): MessageHandlers {
  return new MessageHandlers(contracts)
    .on(AuthorizePayment, (message, work) => orders.authorizePayment(work, message.data))
    .on(VoidPayment, (message, work) => orders.voidPayment(work, message.data))
    .on(ConfirmOrder, (message, work) => orders.confirm(work, message.data))
    .on(RejectOrder, (message, work) => orders.reject(work, message.data))
    .on(CancelOrder, (message, work) => orders.cancel(work, message.data));
}
