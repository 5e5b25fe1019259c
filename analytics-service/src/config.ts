import { env, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  SERVICE_NAME: env.string().default('analytics-service'),
  HOST: env.string().default('127.0.0.1'),
  /** Read again by the platform's `createBusFromEnv`; declared here so a missing URL fails at start-up with the rest. */
  BUS: env.enum(['postgres']).default('postgres'),
  BUS_DATABASE_URL: env.url({ protocols: ['postgres:', 'postgresql:'] }),
  /** How long a read with `minPosition` waits for the projection before answering 409. */
  READ_YOUR_WRITES_TIMEOUT: env.duration().default(5_000),
  /** How often the alert rules are evaluated. */
  ALERT_EVALUATION_INTERVAL: env.duration().default(5_000),
};

export type AnalyticsServiceConfig = ConfigOf<typeof configShape>;
