/**
 * npm start [-- --reset] [--data-dir DIR]
 *
 * Starts the local stack on the embedded default. Today that is the embedded
 * PostgreSQL with one database and one role per service (plus the bus's
 * database) and the platform's schemas migrated; the services join it as
 * their issues land. Ctrl-C stops everything. Data persists in the data
 * directory unless --reset is given.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  EmbeddedPostgresServer,
  createKnex,
  eventStoreMigrations,
  inboxMigrations,
  migrateBus,
  onShutdownSignal,
  outboxMigrations,
  projectionMigrations,
  provisionDatabase,
  runMigrations,
} from '@shop/platform';
import { BUS_DATABASE, SERVICE_DATABASES, type StackFile } from './stack';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    reset: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  },
});

async function stateDirectory(): Promise<string> {
  if (values['data-dir']) return path.resolve(values['data-dir']);
  const preferred = path.join(repoRoot, '.data');
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || (await traversableByOthers(repoRoot))) return preferred;
  // Postgres never runs as root: it runs as the `postgres` user, which cannot
  // enter a checkout under a private directory.
  const tag = createHash('sha256').update(repoRoot).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `shop-platform-${tag}`);
}

async function traversableByOthers(dir: string): Promise<boolean> {
  for (let d = dir; ; d = path.dirname(d)) {
    if (((await fs.stat(d)).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) return true;
  }
}

async function credentials(stateDir: string): Promise<Record<string, string>> {
  const file = path.join(stateDir, 'credentials.json');
  let stored: Record<string, string> = {};
  try {
    stored = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, string>;
  } catch {
    // first start
  }
  for (const db of [...SERVICE_DATABASES, BUS_DATABASE]) stored[db] ??= randomBytes(18).toString('base64url');
  await fs.writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  return stored;
}

async function main(): Promise<void> {
  const stateDir = await stateDirectory();
  if (values.reset) await fs.rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
  await fs.mkdir(stateDir, { recursive: true, mode: 0o755 });
  const logFile = await fs.open(path.join(stateDir, 'postgres.log'), 'a');
  const server = new EmbeddedPostgresServer({
    dataDir: path.join(stateDir, 'postgres'),
    reset: values.reset,
    log: (line) => void logFile.write(line + '\n'),
  });
  onShutdownSignal(async () => {
    console.log('\nstopping...');
    await server.stop();
    await logFile.close();
    console.log('stopped');
  });

  const admin = await server.start();
  if (server.adopted) console.log(`adopted the PostgreSQL server a killed earlier run left on port ${admin.port}`);
  const passwords = await credentials(stateDir);
  const stack: StackFile = { startedAt: new Date().toISOString(), postgres: { host: admin.host, port: admin.port }, databases: {} };
  for (const name of [...SERVICE_DATABASES, BUS_DATABASE]) {
    const conn = await provisionDatabase(admin, name, passwords[name]);
    const knex = createKnex(conn, { max: 1 });
    try {
      if (name === BUS_DATABASE) {
        await migrateBus(knex);
      } else {
        await runMigrations(knex, 'event_store', eventStoreMigrations);
        await runMigrations(knex, 'projections', projectionMigrations);
        await runMigrations(knex, 'outbox', outboxMigrations);
        await runMigrations(knex, 'inbox', inboxMigrations);
      }
    } finally {
      await knex.destroy();
    }
    stack.databases[name] = {
      url: `postgres://${conn.user}:${encodeURIComponent(conn.password)}@${conn.host}:${conn.port}/${conn.database}`,
      database: conn.database,
      user: conn.user,
    };
  }
  await fs.writeFile(path.join(stateDir, 'stack.json'), JSON.stringify(stack, null, 2), { mode: 0o600 });

  console.log(`
Local stack (embedded default)
  PostgreSQL ${admin.host}:${admin.port}   data: ${path.join(stateDir, 'postgres')}
  databases (one role each, reachable by that role only):
${Object.entries(stack.databases)
  .map(([name, d]) => `    ${name.padEnd(12)} ${d.url}`)
  .join('\n')}
  connection details: ${path.join(stateDir, 'stack.json')}

  Running now: the embedded PostgreSQL; in every service database the event
  store, projection, outbox and inbox schemas; in the bus database the
  Postgres bus. The services join this command as they are built (see the
  README's status table).

ready. Ctrl-C stops everything.`);
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
