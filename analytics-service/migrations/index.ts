import type { Knex } from 'knex';

/**
 * The analytics service's own migration set (`knex_migrations_analytics`).
 * The archive is the platform event store, and every read-model table is
 * created by its projection (so that a rebuild can recreate it as a shadow
 * table); what is here is state that is not derived from events (the alert
 * rules operators manage), and the changes a read-model table created by an
 * earlier release needs before the new projection code writes to it (its
 * projection's DDL creates the same shape in a fresh database or a rebuild).
 */
export const analyticsMigrations: Record<string, Knex.Migration> = {
  '0001_alert_rules': {
    async up(knex) {
      await knex.schema.createTable('alert_rules', (t) => {
        t.uuid('id').primary();
        t.integer('version').notNullable();
        // The rule as the API accepted it (AlertRuleSettings).
        t.jsonb('settings').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        // A deleted rule stays until its raised alerts are resolved, then is retired.
        t.timestamp('deleted_at', { useTz: true });
        t.boolean('retired').notNullable().defaultTo(false);
      });
    },
    async down(knex) {
      await knex.schema.dropTable('alert_rules');
    },
  },
  /**
   * order.placed v2 carries the channel, and `live_orders` keeps it. A table
   * created before holds only orders placed in v1, which the contract's
   * upcaster reads as channel 'api': the rows whose order.placed was archived
   * get that value, the others stay null until it arrives. That is what a
   * rebuild of the same archive writes, so a rebuilt table equals a migrated
   * one. A database without the table yet (a fresh one) gets it with the
   * column from the projection.
   */
  '0002_live_orders_channel': {
    async up(knex) {
      if (!(await knex.schema.hasTable('live_orders'))) return;
      await knex.raw('alter table live_orders add column if not exists channel text');
      await knex('live_orders').whereNotNull('placed_at').whereNull('channel').update({ channel: 'api' });
    },
    async down(knex) {
      if (await knex.schema.hasTable('live_orders')) await knex.raw('alter table live_orders drop column if exists channel');
    },
  },
};
