import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  buildMessage,
  type MessageMetadata,
} from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { OrderEvent } from '../../orders/order';

export const SOURCE = 'order-service';

/**
 * Stored order event -> contract message, for the outbox relay. The message
 * id is the event id and its time the event's, so a republished page yields
 * identical messages that consumers' inboxes absorb.
 * PaymentAuthorizationTimedOut stays inside: the coordinator's deadline
 * stands for the reply that never came.
 */
export function orderEventToMessages(event: RecordedEvent): OutgoingMessage[] {
  const e = { type: event.type, ...(event.data as object) } as OrderEvent;
  const meta: MessageMetadata = {
    id: event.id,
    source: SOURCE,
    correlationId: event.metadata.correlationId ?? event.id,
    ...(event.metadata.causationId ? { causationId: event.metadata.causationId } : {}),
    ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
    time: event.recordedAt.toISOString(),
  };
  switch (e.type) {
    case 'OrderPlaced':
      return [buildMessage(OrderPlaced, { orderId: e.orderId, customerId: e.customerId, lines: e.lines, placedAt: e.placedAt }, meta)];
    case 'PaymentAuthorized':
      return [buildMessage(PaymentAuthorized, { orderId: e.orderId, authorizationId: e.authorizationId, amount: e.amount }, meta)];
    case 'PaymentDeclined':
      return [buildMessage(PaymentDeclined, { orderId: e.orderId, reason: e.reason }, meta)];
    case 'PaymentAuthorizationTimedOut':
      return [];
    case 'PaymentVoided':
      return [
        buildMessage(PaymentVoided, { orderId: e.orderId, ...(e.authorizationId ? { authorizationId: e.authorizationId } : {}) }, meta),
      ];
    case 'OrderConfirmed':
      return [
        buildMessage(
          OrderConfirmed,
          { orderId: e.orderId, customerId: e.customerId, lines: e.lines, total: e.total, confirmedAt: e.confirmedAt },
          meta,
        ),
      ];
    case 'OrderRejected':
      return [buildMessage(OrderRejected, { orderId: e.orderId, customerId: e.customerId, reason: e.reason, rejectedAt: e.rejectedAt }, meta)];
    case 'OrderCancellationRequested':
      return [
        buildMessage(
          OrderCancellationRequested,
          { orderId: e.orderId, customerId: e.customerId, ...(e.reason ? { reason: e.reason } : {}), requestedAt: e.requestedAt },
          meta,
        ),
      ];
    case 'OrderCancelled':
      return [
        buildMessage(OrderCancelled, { orderId: e.orderId, customerId: e.customerId, reason: e.reason, cancelledAt: e.cancelledAt }, meta),
      ];
    default:
      return [];
  }
}
