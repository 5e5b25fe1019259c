import type { Knex } from 'knex';

/**
 * The coordinator's own tables (`knex_migrations_coordinator`). The saga
 * list is a projection (its table is created by the projection runner, so a
 * rebuild can use shadow tables); the deadlines are not: they carry state
 * of their own (fired or not) that replaying the log cannot rebuild.
 */
export const coordinatorMigrations: Record<string, Knex.Migration> = {
  '0001_saga_deadlines': {
    up: (knex) => knex.raw(sagaDeadlinesTable('saga_deadlines')),
    down: (knex) => knex.raw('drop table saga_deadlines'),
  },
  // The trace context of the saga event that scheduled the deadline: its expiry continues the saga's trace.
  '0002_saga_deadlines_traceparent': {
    up: (knex) => knex.raw('alter table saga_deadlines add column if not exists traceparent text'),
    down: (knex) => knex.raw('alter table saga_deadlines drop column traceparent'),
  },
};

/** The DDL of `saga_deadlines`, under a given name (the deadlines projection's spec creates its own copies). */
export function sagaDeadlinesTable(name: string): string {
  return `
        create table ${name} (
          deadline_id uuid primary key,
          saga_id text not null,
          saga_type text not null,
          order_id uuid not null,
          step text not null,
          due_at timestamptz not null,
          status text not null default 'pending' check (status in ('pending', 'fired', 'cancelled')),
          fired_at timestamptz,
          created_at timestamptz not null default now(),
          traceparent text
        );
        create index ${name}_due on ${name} (due_at) where status = 'pending';
        create index ${name}_saga on ${name} (saga_id)`;
}
