import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBus, PostgresEventStore } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import type { StackFile } from '../local/stack';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Starts the stack the way `npm start` does, in its own process group, as a terminal would. */
function startStack(dataDir: string, extra: string[] = []) {
  const child = spawn(tsx, ['infra/local/start.ts', '--data-dir', dataDir, ...extra], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    output: () => output,
    ready: () => waitFor(() => output.includes('ready. Ctrl-C stops everything.'), 60_000),
    /** Ctrl-C: SIGINT to the whole process group. */
    interrupt: async () => {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
    pgid: child.pid!,
  };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start (local stack)', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('starts the embedded stack, keeps data across restarts, and stops with nothing left behind', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-start-'));
    await fs.chmod(dir, 0o755);
    const dataDir = path.join(dir, 'state');

    const first = startStack(dataDir, ['--reset']);
    await first.ready();
    const stack = JSON.parse(await fs.readFile(path.join(dataDir, 'stack.json'), 'utf8')) as StackFile;
    expect(Object.keys(stack.databases).sort()).toEqual(['analytics', 'bus', 'catalog', 'coordinator', 'inventory', 'orders']);

    // The bus database holds the migrated Postgres bus.
    const bus = new PostgresBus({ connection: { connectionString: stack.databases.bus!.url } });
    await bus.publish([{ topic: 'smoke', key: 'k', value: '{}' }]);
    await bus.close();
    // A service role can use its own migrated event store...
    const store = new PostgresEventStore({ connection: { connectionString: stack.databases.catalog!.url } });
    const appended = await store.append('product-smoke', [{ type: 'ProductAdded', data: { sku: 'SMOKE-1' } }]);
    expect(appended.position).toBeGreaterThan(0);
    await store.close();
    // ...and cannot open another service's database.
    const intruder = new pg.Client({ connectionString: stack.databases.catalog!.url.replace(/\/catalog$/, '/inventory') });
    await expect(intruder.connect()).rejects.toThrow(/permission denied/);
    await intruder.end().catch(() => undefined);

    expect(await first.interrupt()).toBe(130);
    await waitFor(() => !groupAlive(first.pgid), 10_000);
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    await expect(fs.access(pidFile)).rejects.toThrow();

    // Second start: same data, no reset.
    const second = startStack(dataDir);
    await second.ready();
    const stack2 = JSON.parse(await fs.readFile(path.join(dataDir, 'stack.json'), 'utf8')) as StackFile;
    const again = new PostgresEventStore({ connection: { connectionString: stack2.databases.catalog!.url } });
    expect((await again.readStream('product-smoke')).map((e) => e.type)).toEqual(['ProductAdded']);
    await again.close();
    expect(await second.interrupt()).toBe(130);
    await waitFor(() => !groupAlive(second.pgid), 10_000);
  });
});
