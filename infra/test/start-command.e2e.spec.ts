import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBus, PostgresEventStore, signToken } from '@shop/platform';
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

/** The pid of this checkout's running service process, read from /proc. */
function servicePid(service: string): number | undefined {
  const entry = path.join(repoRoot, service, 'src', 'main.ts');
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(entry)) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
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
    expect(first.output()).toContain('demo data: 60 products with stock');
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

    // The services run as their own processes: place an order through HTTP
    // and see it reach the order read model (a projection fed by the store).
    const secret = (JSON.parse(await fs.readFile(path.join(dataDir, 'credentials.json'), 'utf8')) as { authJwtSecret: string }).authJwtSecret;
    const auth = { secret, issuer: 'urn:shop:auth', audience: 'urn:shop:api' };
    const customer = await signToken({ sub: 'smoke-customer', roles: ['customer'] }, auth);
    const catalog = stack.services!['catalog-service']!;
    const orders = stack.services!['order-service']!;
    const products = (await (await fetch(`${catalog}/v1/products?limit=2`)).json()) as { items: { sku: string }[] };
    expect(products.items.length).toBe(2);
    const placed = await fetch(`${orders}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}`, 'idempotency-key': 'smoke-order-1' },
      body: JSON.stringify({ lines: products.items.map((p) => ({ sku: p.sku, quantity: 1 })), paymentToken: 'tok_approve' }),
    });
    expect(placed.status).toBe(202);
    const { orderId } = (await placed.json()) as { orderId: string };
    expect(placed.headers.get('location')).toBe(`/v1/orders/${orderId}`);
    await waitFor(async () => {
      const list = (await (await fetch(`${orders}/v1/orders`, { headers: { authorization: `Bearer ${customer}` } })).json()) as {
        items: { orderId?: string; id?: string; status: string }[];
      };
      return list.items.some((o) => (o.orderId ?? o.id) === orderId && o.status === 'pending');
    }, 20_000);

    // A service that crashes is reported and restarted on its port.
    const orderPid = servicePid('order-service');
    expect(orderPid).toBeGreaterThan(0);
    process.kill(orderPid!, 'SIGKILL');
    await waitFor(() => /order-service crashed \(exit SIGKILL\); restarting/.test(first.output()), 10_000);
    await waitFor(async () => {
      const pid = servicePid('order-service');
      if (!pid || pid === orderPid) return false;
      const res = await fetch(`${orders}/readyz`).catch(() => undefined);
      return res?.status === 200;
    }, 30_000);
    const afterRestart = await fetch(`${orders}/v1/orders/${orderId}`, { headers: { authorization: `Bearer ${customer}` } });
    expect(afterRestart.status).toBe(200);

    expect(await first.interrupt()).toBe(130);
    await waitFor(() => !groupAlive(first.pgid), 15_000);
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    await expect(fs.access(pidFile)).rejects.toThrow();

    // Second start: same data, no reset.
    const second = startStack(dataDir);
    await second.ready();
    const stack2 = JSON.parse(await fs.readFile(path.join(dataDir, 'stack.json'), 'utf8')) as StackFile;
    const again = new PostgresEventStore({ connection: { connectionString: stack2.databases.catalog!.url } });
    expect((await again.readStream('product-smoke')).map((e) => e.type)).toEqual(['ProductAdded']);
    await again.close();
    expect(second.output()).not.toContain('demo data:'); // first start only
    expect(await second.interrupt()).toBe(130);
    await waitFor(() => !groupAlive(second.pgid), 15_000);
  });
});
