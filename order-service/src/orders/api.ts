import { z } from 'zod';
import { Money, OrderChannel, OrderLine, PricedLine } from '@shop/contracts';
import { defineRoute, integerParameter, type Principal, type Route } from '@shop/platform';
import { ORDER_STATUSES, PAYMENT_STATUSES } from './order';
import type { Orders, Viewer } from './orders';

const OrderStatus = z.enum(ORDER_STATUSES);

const PlaceOrderBody = z
  .object({
    lines: z.array(OrderLine).min(1).max(100),
    /** A payment-provider token; see the README for the sandbox's test tokens. */
    paymentToken: z.string().min(1).max(200),
    /** How the customer placed the order: the web shop, the mobile app, or a client of this API directly (the default). */
    channel: OrderChannel.default('api'),
  })
  .meta({ id: 'PlaceOrder' });

const CancelOrderBody = z
  .object({ reason: z.string().min(1).max(500).optional() })
  .optional()
  .meta({ id: 'CancelOrder' });

const StatusChange = z
  .object({ status: OrderStatus, at: z.string(), reason: z.string().optional() })
  .meta({ id: 'OrderStatusChange' });

const OrderView = z
  .object({
    orderId: z.uuid(),
    customerId: z.string(),
    status: OrderStatus,
    lines: z.array(OrderLine),
    pricedLines: z.array(PricedLine).nullable(),
    total: Money.nullable(),
    paymentStatus: z.enum(PAYMENT_STATUSES),
    placedAt: z.string(),
    updatedAt: z.string(),
    statusHistory: z.array(StatusChange),
  })
  .meta({ id: 'Order' });

const OrderPage = z.object({ items: z.array(OrderView), nextCursor: z.string().nullable() }).meta({ id: 'OrderPage' });

const OrderIdParams = z.object({ id: z.uuid() });

const ListQuery = z.object({
  status: OrderStatus.optional(),
  /** Admins only; a customer always lists their own orders. */
  customerId: z.string().min(1).max(200).optional(),
  limit: integerParameter(z.number().int().min(1).max(100)).default(20),
  cursor: z.string().min(1).max(200).optional(),
});

const viewerOf = (auth: Principal): Viewer => ({ subject: auth.subject, admin: auth.roles.includes('admin') });

export function orderRoutes(orders: Orders): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/orders',
      summary: 'Place an order',
      description:
        'Records the order as pending and returns at once (202); the place-order saga prices, reserves, authorizes payment and confirms or rejects it.',
      tags: ['orders'],
      auth: ['customer'],
      idempotent: true,
      request: { body: PlaceOrderBody },
      responses: { 202: OrderView },
      handler: async ({ body, auth, req }) => {
        const order = await orders.place({
          customerId: auth.subject,
          // Present and well-formed: the kit checked it before the handler runs.
          idempotencyKey: req.header('idempotency-key')!,
          lines: body.lines,
          paymentToken: body.paymentToken,
          channel: body.channel,
          traceparent: req.header('traceparent'),
        });
        return { status: 202, body: order, headers: { Location: `/v1/orders/${order.orderId}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/orders/:id',
      summary: 'Read an order with its status history',
      description: "Customers see their own orders only: another customer's order is a 404. Admins see every order.",
      tags: ['orders'],
      request: { params: OrderIdParams },
      responses: { 200: OrderView },
      handler: async ({ params, auth }) => ({ status: 200, body: await orders.get(params.id, viewerOf(auth)) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/orders',
      summary: 'List orders, newest first',
      description: 'Served from the orders read model (eventually consistent). Customers list their own orders; admins list all, optionally one customer.',
      tags: ['orders'],
      request: { query: ListQuery },
      responses: { 200: OrderPage },
      handler: async ({ query, auth }) => ({ status: 200, body: await orders.list(viewerOf(auth), query) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/orders/:id/cancel',
      summary: 'Ask to cancel an order',
      description: 'Allowed for a pending or confirmed order (202), to its customer or an admin; otherwise 409. The cancel-order saga carries it out.',
      tags: ['orders'],
      auth: ['customer', 'admin'],
      request: { params: OrderIdParams, body: CancelOrderBody },
      responses: { 202: OrderView },
      handler: async ({ params, body, auth, req }) => {
        const order = await orders.requestCancellation({
          orderId: params.id,
          viewer: viewerOf(auth),
          ...(body?.reason ? { reason: body.reason } : {}),
          traceparent: req.header('traceparent'),
        });
        return { status: 202, body: order, headers: { Location: `/v1/orders/${order.orderId}` } };
      },
    }),
  ];
}
