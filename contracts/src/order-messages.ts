import { z } from 'zod';
import { defineMessage } from './message';
import { Money, OrderId, OrderLine, PricedLine, Timestamp } from './shared';
import { TOPICS } from './topics';

const CustomerId = z.string().min(1).max(200);
const Reason = z.string().min(1).max(500);

/** How the customer placed the order: the web shop, the mobile app, or the HTTP API directly. */
export const OrderChannel = z.enum(['web', 'mobile', 'api']);
export type OrderChannel = z.infer<typeof OrderChannel>;

const OrderPlacedV1 = z.object({ orderId: OrderId, customerId: CustomerId, lines: z.array(OrderLine).min(1).max(100), placedAt: Timestamp });

export const OrderPlaced = defineMessage({
  type: 'order.placed',
  version: 2,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: OrderPlacedV1.extend({ channel: OrderChannel }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'A customer placed an order; it is pending until the place-order saga ends.',
  previous: [
    {
      version: 1,
      schema: OrderPlacedV1,
      // Before v2 every order came through the HTTP API.
      upcast: (v1) => ({ ...(v1 as z.infer<typeof OrderPlacedV1>), channel: 'api' }),
      // For the order service's ORDER_PLACED_VERSION=1, while a consumer still reads only v1.
      downcast: (v2) => {
        const { channel: _channel, ...v1 } = v2 as z.infer<typeof OrderPlacedV1> & { channel: OrderChannel };
        return v1;
      },
    },
  ],
});

export const OrderConfirmed = defineMessage({
  type: 'order.confirmed',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, customerId: CustomerId, lines: z.array(PricedLine), total: Money, confirmedAt: Timestamp }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'The order is confirmed: priced, stock reserved, payment authorized.',
});

export const OrderRejected = defineMessage({
  type: 'order.rejected',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, customerId: CustomerId, reason: Reason, rejectedAt: Timestamp }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'The order was rejected, with a reason a customer can read.',
});

export const OrderCancellationRequested = defineMessage({
  type: 'order.cancellation-requested',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, customerId: CustomerId, reason: Reason.optional(), requestedAt: Timestamp }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'A customer or an admin asked to cancel the order; the cancel-order saga carries it out.',
});

export const OrderCancelled = defineMessage({
  type: 'order.cancelled',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, customerId: CustomerId, reason: Reason, cancelledAt: Timestamp }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'The order is cancelled; payment voided or refunded, stock released.',
});

export const AuthorizePayment = defineMessage({
  type: 'order.authorize-payment',
  version: 1,
  kind: 'command',
  topic: TOPICS.orderCommands,
  schema: z.object({ orderId: OrderId, amount: Money }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['order-service'],
  description: "Authorize the amount on the order's payment token, through the payment provider.",
});

export const PaymentAuthorized = defineMessage({
  type: 'order.payment-authorized',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, authorizationId: z.string().min(1), amount: Money }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'Reply: the payment is authorized.',
});

export const PaymentDeclined = defineMessage({
  type: 'order.payment-declined',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, reason: Reason }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'Reply: the provider declined the payment.',
});

export const VoidPayment = defineMessage({
  type: 'order.void-payment',
  version: 1,
  kind: 'command',
  topic: TOPICS.orderCommands,
  schema: z.object({ orderId: OrderId }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['order-service'],
  description: "Void the order's authorization; voiding nothing is not an error.",
});

export const PaymentVoided = defineMessage({
  type: 'order.payment-voided',
  version: 1,
  kind: 'event',
  topic: TOPICS.orderEvents,
  schema: z.object({ orderId: OrderId, authorizationId: z.string().optional() }),
  key: (d) => d.orderId,
  producer: 'order-service',
  consumers: ['coordinator-service', 'analytics-service'],
  description: 'Reply: the authorization is voided (or there was none).',
});

export const ConfirmOrder = defineMessage({
  type: 'order.confirm-order',
  version: 1,
  kind: 'command',
  topic: TOPICS.orderCommands,
  schema: z.object({ orderId: OrderId, lines: z.array(PricedLine).min(1), total: Money }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['order-service'],
  description: 'Confirm the order at these prices.',
});

export const RejectOrder = defineMessage({
  type: 'order.reject-order',
  version: 1,
  kind: 'command',
  topic: TOPICS.orderCommands,
  schema: z.object({ orderId: OrderId, reason: Reason }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['order-service'],
  description: 'Reject the order with a reason a customer can read.',
});

export const CancelOrder = defineMessage({
  type: 'order.cancel-order',
  version: 1,
  kind: 'command',
  topic: TOPICS.orderCommands,
  schema: z.object({ orderId: OrderId, reason: Reason }),
  key: (d) => d.orderId,
  producer: 'coordinator-service',
  consumers: ['order-service'],
  description: 'Mark the order cancelled (after payment and stock were undone).',
});

export const orderMessages = [
  OrderPlaced,
  OrderConfirmed,
  OrderRejected,
  OrderCancellationRequested,
  OrderCancelled,
  AuthorizePayment,
  PaymentAuthorized,
  PaymentDeclined,
  VoidPayment,
  PaymentVoided,
  ConfirmOrder,
  RejectOrder,
  CancelOrder,
] as const;
