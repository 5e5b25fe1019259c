import type { Knex } from 'knex';

/**
 * The service's own tables, set `inventory`. Everything it stores today
 * belongs to a platform set (event store, outbox, inbox, projections) or to
 * a projection, whose tables its runner creates (`stock_levels`, see
 * src/stock/read-models/stock-levels). The set exists, empty, so that the
 * next table has its place and its bookkeeping.
 */
export const inventoryMigrations: Record<string, Knex.Migration> = {};
