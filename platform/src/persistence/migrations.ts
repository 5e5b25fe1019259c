import knex, { type Knex } from 'knex';
import type { DatabaseConnection } from '../embedded-postgres/provision';

/**
 * Runs a named set of knex migrations, each set with its own bookkeeping
 * table, so a service can apply the platform's sets (event store,
 * projections, outbox...) next to its own without their names colliding.
 */
export async function runMigrations(
  db: Knex,
  setName: string,
  migrations: Record<string, Knex.Migration>,
): Promise<string[]> {
  const names = Object.keys(migrations).sort();
  const source: Knex.MigrationSource<string> = {
    getMigrations: () => Promise.resolve(names),
    getMigrationName: (name) => name,
    getMigration: (name) => Promise.resolve(migrations[name]!),
  };
  const [, applied] = (await db.migrate.latest({
    migrationSource: source,
    tableName: `knex_migrations_${setName}`,
  })) as [number, string[]];
  return applied;
}

export function createKnex(connection: DatabaseConnection, pool: { min?: number; max?: number } = {}): Knex {
  return knex({
    client: 'pg',
    connection: { ...connection },
    pool: { min: pool.min ?? 0, max: pool.max ?? 10 },
  });
}
