import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { dropDatabase, provisionDatabase, type DatabaseConnection } from '../src/embedded-postgres/provision';
import { EmbeddedPostgresServer } from '../src/embedded-postgres/server';
import { testAdminConnection } from '../src/testing';
import { waitFor } from '../src/testing/event-store-conformance';

const fixture = path.join(import.meta.dirname, 'fixtures', 'run-embedded-postgres.ts');
const repoRoot = path.join(import.meta.dirname, '..', '..');

async function query(conn: DatabaseConnection | (Omit<DatabaseConnection, 'database'> & { database: string }), sql: string) {
  const client = new pg.Client(conn);
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the fixture in its own process and waits for its `{pid, port}` line. */
function startInChild(dataDir: string) {
  // node with tsx's loader, one process: a signal reaches the fixture itself.
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code, signal) => r(code ?? (signal ? -1 : null))));
  const started = new Promise<{ pid: number; port: number }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { pid: number; port: number });
    });
    void exited.then((code) => reject(new Error(`fixture exited with ${code} before starting`)));
  });
  return { child, started, exited };
}

const tempDirs: string[] = [];
async function tempDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-epg-'));
  await fs.chmod(dir, 0o755); // reachable by the postgres user when we run as root
  tempDirs.push(dir);
  return path.join(dir, 'data');
}

describe('embedded postgres', () => {
  const servers: EmbeddedPostgresServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await Promise.all(tempDirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('gives each service a role that reaches its own database only', async () => {
    const admin = testAdminConnection();
    const a = await provisionDatabase(admin, 'iso_catalog');
    const b = await provisionDatabase(admin, 'iso_inventory');
    try {
      expect(await query(a, 'select current_user as u, current_database() as d')).toEqual([{ u: 'iso_catalog', d: 'iso_catalog' }]);
      await expect(query({ ...a, database: 'iso_inventory' }, 'select 1')).rejects.toThrow(/permission denied/);
      await expect(query({ ...a, database: 'postgres' }, 'select 1')).rejects.toThrow(/permission denied/);
      await expect(query(b, 'create database sneaky')).rejects.toThrow(/permission denied/);
      await expect(query(b, 'create role sneaky')).rejects.toThrow(/permission denied/);
      // Idempotent: provisioning again keeps the data and the access rules.
      await query(a, 'create table kept (id int)');
      const again = await provisionDatabase(admin, 'iso_catalog', a.password);
      expect(await query(again, "select to_regclass('kept') is not null as present")).toEqual([{ present: true }]);
    } finally {
      await dropDatabase(admin, 'iso_catalog');
      await dropDatabase(admin, 'iso_inventory');
    }
  });

  it('keeps data across restarts on a free port, and forgets it on reset', async () => {
    const dataDir = await tempDataDir();
    const first = new EmbeddedPostgresServer({ dataDir });
    servers.push(first);
    const conn = await first.start();
    expect(conn.port).toBeGreaterThan(0);
    const db = await provisionDatabase(conn, 'persisted', 'secret-1');
    await query(db, "create table notes (body text); insert into notes values ('survives')");
    await first.stop();

    const second = new EmbeddedPostgresServer({ dataDir });
    servers.push(second);
    const conn2 = await second.start();
    expect(await query({ ...db, port: conn2.port }, 'select body from notes')).toEqual([{ body: 'survives' }]);
    await second.stop();

    const third = new EmbeddedPostgresServer({ dataDir, reset: true });
    servers.push(third);
    const conn3 = await third.start();
    expect(await query({ ...conn3, database: 'postgres' }, "select count(*)::int as n from pg_database where datname = 'persisted'")).toEqual([{ n: 0 }]);
  });

  it('restarts in place (immediate shutdown): same port, committed data kept, open connections cut, new ones served, and stop still stops it', async () => {
    const dataDir = await tempDataDir();
    const server = new EmbeddedPostgresServer({ dataDir });
    servers.push(server);
    const conn = await server.start();
    const db = await provisionDatabase(conn, 'restarted', 'secret-r');
    await query(db, "create table notes (body text); insert into notes values ('committed')");
    const open = new pg.Client(db);
    const cut = new Promise<Error>((resolve) => open.on('error', resolve));
    await open.connect();
    const pidBefore = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);

    await server.restart('immediate');

    expect((await cut).message).toMatch(/terminat|shut ?down|connection/i);
    await open.end().catch(() => undefined);
    expect(server.connection.port).toBe(conn.port);
    const pidAfter = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(pidAfter).not.toBe(pidBefore);
    expect(alive(pidBefore)).toBe(false);
    expect(await query(db, 'select body from notes')).toEqual([{ body: 'committed' }]);
    await server.stop();
    expect(alive(pidAfter)).toBe(false);
  });

  it('adopts a server orphaned by a killed run, or replaces it', async () => {
    const dataDir = await tempDataDir();
    const run = startInChild(dataDir);
    const orphan = await run.started;
    run.child.kill('SIGKILL');
    await run.exited;
    expect(alive(orphan.pid)).toBe(true);

    const adopting = new EmbeddedPostgresServer({ dataDir, orphan: 'reuse' });
    servers.push(adopting);
    const conn = await adopting.start();
    expect(adopting.adopted).toBe(true);
    expect(conn.port).toBe(orphan.port);
    expect(await query({ ...conn, database: 'postgres' }, 'select 1 as ok')).toEqual([{ ok: 1 }]);
    await adopting.stop();
    expect(alive(orphan.pid)).toBe(false);

    const run2 = startInChild(dataDir);
    const orphan2 = await run2.started;
    run2.child.kill('SIGKILL');
    await run2.exited;
    const replacing = new EmbeddedPostgresServer({ dataDir, orphan: 'replace' });
    servers.push(replacing);
    await replacing.start();
    expect(replacing.adopted).toBe(false);
    expect(alive(orphan2.pid)).toBe(false);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops the server cleanly on ${signal}`, async () => {
      const dataDir = await tempDataDir();
      const run = startInChild(dataDir);
      const { pid } = await run.started;
      run.child.kill(signal);
      expect(await run.exited).toBe(signal === 'SIGINT' ? 130 : 143);
      await waitFor(() => !alive(pid), 10_000);
      await expect(fs.access(path.join(dataDir, 'postmaster.pid'))).rejects.toThrow();
    });
  }
});
