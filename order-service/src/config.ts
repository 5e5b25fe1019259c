import { env, serviceConfig, type ConfigOf } from '@shop/platform';

export const configShape = serviceConfig('order-service', {
  /** The payment-provider adapter. Only the sandbox exists so far. */
  PAYMENT_PROVIDER: env.enum(['sandbox']).default('sandbox'),
  /** How long AuthorizePayment waits for the provider before recording PaymentAuthorizationTimedOut. */
  PAYMENT_TIMEOUT: env.duration().default(3_000),
});

export type OrderServiceConfig = ConfigOf<typeof configShape>;
