import { env, serviceConfigShape, type ConfigOf } from '@shop/platform';

export const configShape = {
  ...serviceConfigShape,
  SERVICE_NAME: env.string().default('catalog-service'),
  HOST: env.string().default('127.0.0.1'),
  BUS: env.enum(['postgres']).default('postgres'),
  BUS_DATABASE_URL: env.url({ protocols: ['postgres:', 'postgresql:'] }),
  /** Events per page for the outbox relay and the projection. */
  LOG_BATCH_SIZE: env.int({ min: 1, max: 5_000 }).default(500),
};

export type CatalogServiceConfig = ConfigOf<typeof configShape>;
