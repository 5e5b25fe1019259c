import type { Knex } from 'knex';

/**
 * The analytics service's own migration set (`knex_migrations_analytics`).
 * The archive is the platform event store, and every read-model table is
 * created by its projection (so that a rebuild can recreate it as a shadow
 * table); what is here is state that is not derived from events: the alert
 * rules operators manage.
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
};
