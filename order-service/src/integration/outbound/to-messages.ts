import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  atVersion,
} from '@shop/contracts';
import { INTERNAL, outboundMessages, send, type ToMessages } from '@shop/platform';
import { orderCodec, type OrderEvent } from '../../orders/order';

export const SOURCE = 'order-service';

export interface OutboundVersions {
  /**
   * The version of `order.placed` to publish: the current one, or an older
   * one it is downcast to (`ORDER_PLACED_VERSION`), while some consumer in
   * production still reads only that one. The relay maps an event when it
   * relays it: after a restart with another setting, every event not yet
   * relayed goes out at that version.
   */
  orderPlacedVersion: number;
}

/**
 * Stored order event -> contract message, for the outbox relay, one entry
 * per event type, read back with the order codec. PaymentAuthorizationTimedOut stays inside: the
 * coordinator's deadline stands for the reply that never came. Throws at
 * once for a version of a message that cannot be built.
 */
export function orderEventToMessagesFor({ orderPlacedVersion }: OutboundVersions): ToMessages {
  const placed = atVersion(OrderPlaced, orderPlacedVersion);
  return outboundMessages<OrderEvent>(SOURCE, {
    OrderPlaced: (e) => send(placed, { orderId: e.orderId, customerId: e.customerId, lines: e.lines, placedAt: e.placedAt, channel: e.channel }),
    PaymentAuthorized: (e) => send(PaymentAuthorized, { orderId: e.orderId, authorizationId: e.authorizationId, amount: e.amount }),
    PaymentDeclined: (e) => send(PaymentDeclined, { orderId: e.orderId, reason: e.reason }),
    PaymentAuthorizationTimedOut: INTERNAL,
    PaymentVoided: (e) => send(PaymentVoided, { orderId: e.orderId, ...(e.authorizationId ? { authorizationId: e.authorizationId } : {}) }),
    OrderConfirmed: (e) =>
      send(OrderConfirmed, { orderId: e.orderId, customerId: e.customerId, lines: e.lines, total: e.total, confirmedAt: e.confirmedAt }),
    OrderRejected: (e) => send(OrderRejected, { orderId: e.orderId, customerId: e.customerId, reason: e.reason, rejectedAt: e.rejectedAt }),
    OrderCancellationRequested: (e) =>
      send(OrderCancellationRequested, {
        orderId: e.orderId,
        customerId: e.customerId,
        ...(e.reason ? { reason: e.reason } : {}),
        requestedAt: e.requestedAt,
      }),
    OrderCancelled: (e) => send(OrderCancelled, { orderId: e.orderId, customerId: e.customerId, reason: e.reason, cancelledAt: e.cancelledAt }),
  }, orderCodec);
}

/** The mapping with every message at its current version (the default configuration). */
export const orderEventToMessages = orderEventToMessagesFor({ orderPlacedVersion: OrderPlaced.version });
