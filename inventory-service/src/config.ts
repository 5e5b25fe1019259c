import { busConfigShape, env, hostTuningConfigShape, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  ...hostTuningConfigShape,
  SERVICE_NAME: env.string().default('inventory-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
  /** Tries of one SKU write when another process appended first (bounded, jittered), before giving up with a 409. */
  STOCK_WRITE_ATTEMPTS: env.int({ min: 1, max: 100 }).default(20),
};

export type InventoryServiceConfig = ConfigOf<typeof configShape>;
