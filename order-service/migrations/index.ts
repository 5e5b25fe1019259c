import type { Knex } from 'knex';

/**
 * The order service's own migration set (`knex_migrations_order`). Empty so
 * far on purpose: everything the service stores lives in the platform's
 * schemas (event store, outbox and inbox checkpoints, HTTP idempotency), and
 * the read-model tables (`orders`, `order_status_history`) are created by
 * their projection, so that a rebuild can recreate them as shadow tables.
 * New tables of the service's own go here.
 */
export const orderMigrations: Record<string, Knex.Migration> = {};
