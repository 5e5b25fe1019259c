import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { dropDatabase, provisionDatabase, type DatabaseConnection } from '../embedded-postgres/provision';
import type { SuperuserConnection } from '../embedded-postgres/server';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdmin: SuperuserConnection;
  }
}

export function testAdminConnection(): SuperuserConnection {
  return inject('pgAdmin');
}

/** A fresh database with its own login role, on the run's one server. */
export async function createTestDatabase(label: string): Promise<DatabaseConnection & { drop(): Promise<void> }> {
  const admin = testAdminConnection();
  const name = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const conn = await provisionDatabase(admin, name);
  return { ...conn, drop: () => dropDatabase(admin, name) };
}
