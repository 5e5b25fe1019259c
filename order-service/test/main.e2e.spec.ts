import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnex, migrateBus } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
const urlOf = (d: TestDb) => `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

describe('order-service main.ts run directly', () => {
  let serviceDb: TestDb;
  let busDb: TestDb;

  beforeAll(async () => {
    [serviceDb, busDb] = await Promise.all([createTestDatabase('order_main'), createTestDatabase('order_main_bus')]);
    const bus = createKnex(busDb);
    await migrateBus(bus);
    await bus.destroy();
  });
  afterAll(async () => {
    await serviceDb?.drop();
    await busDb?.drop();
  });

  it('logs one JSON "listening" line with url and port, serves, and stops on SIGTERM with exit code 143', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'order-service/src/main.ts')], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        SHOP_ENV: 'development',
        PORT: '0',
        DATABASE_URL: urlOf(serviceDb),
        BUS_DATABASE_URL: urlOf(busDb),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const listening = await new Promise<{ url: string; port: number; msg: string; name: string }>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line) resolve(JSON.parse(line) as { url: string; port: number; msg: string; name: string });
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
    });
    expect(listening).toMatchObject({ msg: 'listening', name: 'order-service', url: `http://127.0.0.1:${listening.port}` });
    expect(listening.port).toBeGreaterThan(0);
    expect((await fetch(`${listening.url}/readyz`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stdout).toContain('"msg":"shutdown hook done"');
  });

  it('--migrate applies the platform\'s and its own migrations with only DATABASE_URL set (production mode, no secret), then exits 0; again changes nothing', async () => {
    const migrateDb = await createTestDatabase('order_migrate');
    try {
      const run = () =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'order-service/src/main.ts'), '--migrate'], {
            cwd: repoRoot,
            env: { PATH: process.env.PATH, SHOP_ENV: 'production', DATABASE_URL: urlOf(migrateDb) },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.stderr.on('data', (c: Buffer) => (out += c.toString()));
          child.once('exit', (code) => resolve({ code, out }));
        });
      const first = await run();
      expect(first, first.out).toMatchObject({ code: 0 });
      expect(first.out).toContain('migrations applied');
      const db = createKnex(migrateDb);
      try {
        const sets = await db('pg_tables').where('tablename', 'like', 'knex_migrations_%').andWhere('tablename', 'not like', '%_lock').pluck('tablename');
        expect(sets.sort()).toEqual(
          ['dead_letters', 'event_store', 'http_idempotency', 'inbox', 'order', 'outbox', 'projections'].map((s) => `knex_migrations_${s}`).sort(),
        );
        const applied = Number((await db('knex_migrations_event_store').count({ n: '*' }))[0]!.n);
        expect(applied).toBeGreaterThan(0);
        const second = await run();
        expect(second.code).toBe(0);
        expect(Number((await db('knex_migrations_event_store').count({ n: '*' }))[0]!.n)).toBe(applied);
      } finally {
        await db.destroy();
      }
    } finally {
      await migrateDb.drop();
    }
  });

  it('--migrate without DATABASE_URL exits 1 naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'order-service/src/main.ts'), '--migrate'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, SHOP_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('DATABASE_URL: required but not set');
  });
});
