import type { Container } from 'inversify';
import {
  OutboxRelay,
  ProjectionRunner,
  TOKENS,
  bindFactory,
  bindMessageConsumer,
  bindOutboxRelay,
  bindPlatformAdapters,
  bindProjectionRunner,
  bindValue,
  createContainer,
  token,
  type Consumer,
} from '@shop/platform';
import type { OrderServiceConfig } from './config';
import { ORDER_COMMANDS_CONSUMER, orderCommandHandlers } from './integration/inbound/order-commands';
import { SOURCE, orderEventToMessages } from './integration/outbound/order-messages';
import { Orders } from './orders/orders';
import { ordersProjection } from './orders/read-models/orders/orders-projection';
import type { PaymentProvider } from './payments/payment-provider';
import { SandboxPaymentProvider } from './payments/sandbox-payment-provider';

export const CONFIG = token<OrderServiceConfig>('order-service.Config');
export const PAYMENT_PROVIDER = token<PaymentProvider>('order-service.PaymentProvider');
export const ORDERS = token<Orders>('order-service.Orders');
export const ORDERS_PROJECTION = token<ProjectionRunner>('order-service.OrdersProjection');
export const OUTBOX_RELAY = token<OutboxRelay>('order-service.OutboxRelay');
export const COMMAND_CONSUMER = token<Consumer>('order-service.CommandConsumer');

/**
 * The composition root: the only place that knows inversify and picks the
 * adapters. `source` is the environment, for the bus adapter's own settings.
 */
export function compose(config: OrderServiceConfig, source: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindValue(c, CONFIG, config);
  bindPlatformAdapters(c, config, source);
  bindFactory(c, PAYMENT_PROVIDER, [CONFIG], () => new SandboxPaymentProvider());
  bindFactory(
    c,
    ORDERS,
    [CONFIG, TOKENS.EventStore, TOKENS.Database, TOKENS.Clock, PAYMENT_PROVIDER, TOKENS.StreamCache],
    (cfg, store, db, clock, payments, cache) => new Orders({ store, db, clock, payments, paymentTimeoutMs: cfg.PAYMENT_TIMEOUT, cache }),
  );
  bindProjectionRunner(c, ORDERS_PROJECTION, ordersProjection);
  bindOutboxRelay(c, OUTBOX_RELAY, config, { name: SOURCE, toMessages: orderEventToMessages, filter: { categories: ['order'] } });
  bindMessageConsumer(c, COMMAND_CONSUMER, ORDER_COMMANDS_CONSUMER, [ORDERS], (orders) => orderCommandHandlers(orders));
  return c;
}
