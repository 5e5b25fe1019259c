import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SuperuserConnection } from './server';

export interface DatabaseConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Creates (idempotently) a login role and a database it owns, and makes the
 * database reachable by that role only: CONNECT is revoked from PUBLIC, so no
 * other service's role can open it. The role is not a superuser and cannot
 * create roles or databases.
 */
export async function provisionDatabase(
  admin: SuperuserConnection,
  name: string,
  password: string = randomBytes(18).toString('base64url'),
): Promise<DatabaseConnection> {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid database name "${name}": use [a-z][a-z0-9_]*`);
  await withAdmin(admin, async (client) => {
    const role = client.escapeIdentifier(name);
    const exists = await client.query('select 1 from pg_roles where rolname = $1', [name]);
    const literal = client.escapeLiteral(password);
    if (exists.rowCount === 0) {
      await client.query(`create role ${role} login nosuperuser nocreatedb nocreaterole password ${literal}`);
    } else {
      await client.query(`alter role ${role} with login password ${literal}`);
    }
    const db = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (db.rowCount === 0) await client.query(`create database ${role} owner ${role}`);
    await client.query(`revoke all on database ${role} from public`);
    await client.query(`grant connect, temporary on database ${role} to ${role}`);
    // The maintenance databases are open to PUBLIC by default; close them so a
    // service role reaches its own database and nothing else.
    await client.query('revoke connect on database postgres from public');
    await client.query('revoke connect on database template1 from public');
  });
  return { host: admin.host, port: admin.port, database: name, user: name, password };
}

export async function dropDatabase(admin: SuperuserConnection, name: string): Promise<void> {
  await withAdmin(admin, async (client) => {
    const ident = client.escapeIdentifier(name);
    await client.query(`drop database if exists ${ident} with (force)`);
    await client.query(`drop role if exists ${ident}`);
  });
}

/** Advisory lock key that serialises provisioning on a server. */
const PROVISIONING_LOCK = 7_460_100;

async function withAdmin<T>(admin: SuperuserConnection, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...admin, database: 'postgres' });
  await client.connect();
  try {
    // Role and grant changes update shared catalog rows; two sessions doing so
    // at once fail with "tuple concurrently updated". Take turns.
    await client.query('select pg_advisory_lock($1)', [PROVISIONING_LOCK]);
    return await fn(client);
  } finally {
    await client.end();
  }
}
