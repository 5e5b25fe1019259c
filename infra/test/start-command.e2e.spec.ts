import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBus, PostgresEventStore } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { LocalStack, stopAllStacks } from './support/local-stack';

describe('npm start (local stack)', () => {
  const stacks: LocalStack[] = [];
  afterAll(async () => {
    await stopAllStacks();
  });

  it('starts the embedded stack, keeps data across restarts, and stops with nothing left behind', async () => {
    const first = await LocalStack.start({ args: ['--reset'] });
    stacks.push(first);
    expect(first.log()).toContain('demo data: 60 products with stock');
    const { stack } = first;
    expect(Object.keys(stack.databases).sort()).toEqual(['analytics', 'bus', 'catalog', 'coordinator', 'inventory', 'orders']);

    // The bus database holds the migrated Postgres bus.
    const bus = new PostgresBus({ connection: { connectionString: stack.databases.bus!.url } });
    await bus.publish([{ topic: 'smoke', key: 'k', value: '{}' }]);
    await bus.close();
    // A service role can use its own migrated event store...
    const store = new PostgresEventStore({ connection: { connectionString: stack.databases.catalog!.url } });
    const appended = await store.append('smoke-1', [{ type: 'SmokeTested', data: {} }]);
    expect(appended.position).toBeGreaterThan(0);
    await store.close();
    // ...and cannot open another service's database.
    const intruder = new pg.Client({ connectionString: stack.databases.catalog!.url.replace(/\/catalog$/, '/inventory') });
    await expect(intruder.connect()).rejects.toThrow(/permission denied/);
    await intruder.end().catch(() => undefined);

    // The services run as their own processes: place an order through HTTP
    // and see it reach the order read model (a projection fed by the store).
    const customer = await first.token('customer', 'smoke-customer');
    const products = await first.products('limit=2');
    expect(products).toHaveLength(2);
    const orderId = await first.placeOrder(customer, products.map((p) => ({ sku: p.sku, quantity: 1 })), 'tok_approve');
    await waitFor(async () => {
      const list = await first.request<{ items: { orderId: string }[] }>('order-service', 'GET', '/v1/orders', customer);
      return list.body.items.some((o) => o.orderId === orderId);
    }, 20_000);

    // A service that crashes is reported and restarted on its port.
    await first.crash('order-service');
    expect(first.log()).toMatch(/order-service crashed \(exit SIGKILL\); restarting/);
    expect((await first.order(customer, orderId)).orderId).toBe(orderId);

    expect(await first.stop()).toBe(130);
    await expect(fs.access(path.join(first.dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();

    // Second start: same data, no reset, no second demo load.
    const second = await LocalStack.start({ dataDir: first.dataDir });
    stacks.push(second);
    const again = new PostgresEventStore({ connection: { connectionString: second.stack.databases.catalog!.url } });
    expect((await again.readStream('smoke-1')).map((e) => e.type)).toEqual(['SmokeTested']);
    await again.close();
    expect(second.log()).not.toContain('demo data:');
    expect((await second.order(customer, orderId)).orderId).toBe(orderId);
    expect(await second.stop()).toBe(130);
  }, 900_000);
});
