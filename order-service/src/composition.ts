import { TOPICS } from '@shop/contracts';
import { TOKENS, defineService, token } from '@shop/platform';
import { orderMigrations } from '../migrations';
import { configShape } from './config';
import { ORDER_COMMANDS_CONSUMER, orderCommandHandlers } from './integration/inbound/order-commands';
import { SOURCE, orderEventToMessagesFor } from './integration/outbound/to-messages';
import { orderRoutes } from './orders/api';
import { Orders } from './orders/orders';
import { ordersProjection } from './orders/read-models/orders/projection';
import type { PaymentProvider } from './payments/payment-provider';
import { SandboxPaymentProvider } from './payments/sandbox-payment-provider';

export const PAYMENT_PROVIDER = token<PaymentProvider>('order-service.PaymentProvider');
export const ORDERS = token<Orders>('order-service.Orders');

/** The order service: orders, and their payments through the payment-provider port. */
export const orderService = defineService({
  description: 'Orders and payments (through a payment-provider port).',
  config: configShape,
  migrations: { set: 'order', migrations: orderMigrations },
  provides: (provide) => [
    provide(PAYMENT_PROVIDER, () => new SandboxPaymentProvider()),
    provide(ORDERS, (get, config) =>
      new Orders({
        store: get(TOKENS.EventStore),
        db: get(TOKENS.Database),
        clock: get(TOKENS.Clock),
        payments: get(PAYMENT_PROVIDER),
        paymentTimeoutMs: config.PAYMENT_TIMEOUT,
        cache: get(TOKENS.StreamCache),
      }),
    ),
  ],
  consumes: { 'order-commands': { group: ORDER_COMMANDS_CONSUMER, handlers: (get) => orderCommandHandlers(get(ORDERS)) } },
  publishes: (config) => ({
    source: SOURCE,
    toMessages: orderEventToMessagesFor({ orderPlacedVersion: config.ORDER_PLACED_VERSION }),
    topics: [TOPICS.orderEvents],
    filter: { categories: ['order'] },
  }),
  projections: [ordersProjection],
  routes: (get) => orderRoutes(get(ORDERS)),
});
