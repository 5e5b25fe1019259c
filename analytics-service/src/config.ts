import { busConfigShape, env, hostTuningConfigShape, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  ...hostTuningConfigShape,
  SERVICE_NAME: env.string().default('analytics-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
  /** How long a read with `minPosition` waits for the projection before answering 409. */
  READ_YOUR_WRITES_TIMEOUT: env.duration().default(5_000),
  /** How often the alert rules are evaluated. */
  ALERT_EVALUATION_INTERVAL: env.duration().default(5_000),
};

export type AnalyticsServiceConfig = ConfigOf<typeof configShape>;
