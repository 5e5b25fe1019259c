import { OrderPlaced, buildableVersions } from '@shop/contracts';
import { env, serviceConfig, type ConfigOf } from '@shop/platform';

const placedVersions = buildableVersions(OrderPlaced);

export const configShape = serviceConfig('order-service', {
  /** The payment-provider adapter. Only the sandbox exists so far. */
  PAYMENT_PROVIDER: env.enum(['sandbox']).default('sandbox'),
  /** How long AuthorizePayment waits for the provider before recording PaymentAuthorizationTimedOut. */
  PAYMENT_TIMEOUT: env.duration().default(3_000),
  /**
   * The version of order.placed the outbox relay publishes: the current one
   * by default, or an older one (downcast) during a rolling deploy in which
   * some consumer still reads only that one.
   */
  ORDER_PLACED_VERSION: env
    .int()
    .refine((v) => placedVersions.includes(v), { error: `expected one of ${placedVersions.join(', ')}` })
    .default(OrderPlaced.version),
});

export type OrderServiceConfig = ConfigOf<typeof configShape>;
