import type { Knex } from 'knex';

/**
 * The catalog's own tables, apart from the platform's sets (event store,
 * projections, outbox, inbox, HTTP idempotency).
 *
 * There are none yet: the service's state lives in its event streams, and the
 * read model `catalog_products` is created by its projection (its DDL sits
 * next to the projection), because a rebuild recreates it under a shadow
 * name and swaps it in. New tables of the service's own go here, one
 * migration per change, never editing one already released.
 */
export const catalogMigrations: Record<string, Knex.Migration> = {};
