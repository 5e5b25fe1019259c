import { busConfigShape, env, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  SERVICE_NAME: env.string().default('inventory-service'),
  HOST: env.string().default('127.0.0.1'),
  /** BUS, BUS_DATABASE_URL (BUS=postgres), KAFKA_BROKERS (BUS=kafka)...: read again by `createBusFromEnv`, declared here so a bad value fails with the rest. */
  ...busConfigShape,
  /** Tries of one SKU write when another process appended first (bounded, jittered), before giving up with a 409. */
  STOCK_WRITE_ATTEMPTS: env.int({ min: 1, max: 100 }).default(20),
  /** SKU streams whose folded state is kept in memory (least recently used evicted). */
  STOCK_CACHED_SKUS: env.int({ min: 1, max: 1_000_000 }).default(10_000),
};

export type InventoryServiceConfig = ConfigOf<typeof configShape>;
