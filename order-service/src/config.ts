import { env, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  SERVICE_NAME: env.string().default('order-service'),
  HOST: env.string().default('127.0.0.1'),
  /** Read again by the platform's `createBusFromEnv`; declared here so a missing URL fails at start-up with the rest. */
  BUS: env.enum(['postgres']).default('postgres'),
  BUS_DATABASE_URL: env.url({ protocols: ['postgres:', 'postgresql:'] }),
  /** The payment-provider adapter. Only the sandbox exists so far. */
  PAYMENT_PROVIDER: env.enum(['sandbox']).default('sandbox'),
  /** How long AuthorizePayment waits for the provider before recording PaymentAuthorizationTimedOut. */
  PAYMENT_TIMEOUT: env.duration().default(3_000),
};

export type OrderServiceConfig = ConfigOf<typeof configShape>;
