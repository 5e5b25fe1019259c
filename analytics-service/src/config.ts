import { env, serviceConfig, type ConfigOf } from '@shop/platform';

export const configShape = serviceConfig('analytics-service', {
  /** How long a read with `minPosition` waits for the projection before answering 409. */
  READ_YOUR_WRITES_TIMEOUT: env.duration().default(5_000),
  /** How often the alert rules are evaluated. */
  ALERT_EVALUATION_INTERVAL: env.duration().default(5_000),
});

export type AnalyticsServiceConfig = ConfigOf<typeof configShape>;
