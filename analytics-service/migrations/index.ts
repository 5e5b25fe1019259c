import type { Knex } from 'knex';

/**
 * The analytics service's own migration set (`knex_migrations_analytics`).
 * Empty on purpose: the archive is the platform event store, and every
 * read-model table is created by its projection (so that a rebuild can
 * recreate it as a shadow table). Alert rules will add tables here.
 */
export const analyticsMigrations: Record<string, Knex.Migration> = {};
