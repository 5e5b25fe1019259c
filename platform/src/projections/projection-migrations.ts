import type { Knex } from 'knex';

/** Checkpoints of every projection in a read-model database: one live row, and a shadow row during a rebuild. */
export const projectionMigrations: Record<string, Knex.Migration> = {
  '0001_projection_checkpoints': {
    up: (knex) =>
      knex.raw(`
        create table projection_checkpoints (
          projection text not null,
          slot text not null check (slot in ('live', 'shadow')),
          position bigint not null,
          updated_at timestamptz not null default now(),
          primary key (projection, slot)
        )`),
    down: (knex) => knex.raw('drop table projection_checkpoints'),
  },
};
