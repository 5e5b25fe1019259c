import { busConfigShape, env, hostTuningConfigShape, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  ...hostTuningConfigShape,
  SERVICE_NAME: env.string().default('catalog-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
};

export type CatalogServiceConfig = ConfigOf<typeof configShape>;
