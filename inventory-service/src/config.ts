import { env, serviceConfig, type ConfigOf } from '@shop/platform';

export const configShape = serviceConfig('inventory-service', {
  /** Tries of one SKU write when another process appended first (bounded, jittered), before giving up with a 409. */
  STOCK_WRITE_ATTEMPTS: env.int({ min: 1, max: 100 }).default(20),
});

export type InventoryServiceConfig = ConfigOf<typeof configShape>;
