import { busConfigShape, env, hostTuningConfigShape, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  ...hostTuningConfigShape,
  SERVICE_NAME: env.string().default('order-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
  /** The payment-provider adapter. Only the sandbox exists so far. */
  PAYMENT_PROVIDER: env.enum(['sandbox']).default('sandbox'),
  /** How long AuthorizePayment waits for the provider before recording PaymentAuthorizationTimedOut. */
  PAYMENT_TIMEOUT: env.duration().default(3_000),
};

export type OrderServiceConfig = ConfigOf<typeof configShape>;
