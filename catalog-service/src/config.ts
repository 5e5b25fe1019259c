import { busConfigShape, env, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  SERVICE_NAME: env.string().default('catalog-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
  /** Events per page for the outbox relay and the projection. */
  LOG_BATCH_SIZE: env.int({ min: 1, max: 5_000 }).default(500),
};

export type CatalogServiceConfig = ConfigOf<typeof configShape>;
