import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
} from '@shop/contracts';
import { INTERNAL, outboundMessages, send } from '@shop/platform';
import { orderCodec, type OrderEvent } from '../../orders/order';

export const SOURCE = 'order-service';

/**
 * Stored order event -> contract message, for the outbox relay, one entry
 * per event type, read back with the order codec. PaymentAuthorizationTimedOut stays inside: the
 * coordinator's deadline stands for the reply that never came.
 */
export const orderEventToMessages = outboundMessages<OrderEvent>(SOURCE, {
  OrderPlaced: (e) => send(OrderPlaced, { orderId: e.orderId, customerId: e.customerId, lines: e.lines, placedAt: e.placedAt }),
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
