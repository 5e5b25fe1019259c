import path from 'node:path';
import { createKnex, parseDatabaseUrl } from '@shop/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit, stackAuditTargets } from '../audit/audit-cli';
import { waitFor } from '@shop/platform/testing';
import { STACK_BUSES as BUSES } from './support/stack-buses';
import { LocalStack, stopAllStacks, type StockLevels } from './support/local-stack';

/**
 * The place-order and cancel-order sagas on the local stack: real processes,
 * real Postgres, on each bus (the Postgres bus, then a real Kafka broker), the
 * documented payment test tokens. Every outcome is asserted through the
 * public APIs only.
 */
describe.each(BUSES)('place-order saga on the local stack (%s bus)', (bus) => {
  let stack: LocalStack;
  let customer: string;
  let skus: string[];
  let next = 0;
  const freshSku = () => skus[next++]!;

  beforeAll(async () => {
    stack = await LocalStack.start({
      bus,
      args: ['--reset'],
      // Generous step deadlines for a shared CI machine; the payment one must
      // still expire for tok_no_answer (order-service gives up after 3 s).
      env: {
        DEADLINE_PRICING_MS: '15s',
        DEADLINE_RESERVATION_MS: '15s',
        DEADLINE_CONFIRMATION_MS: '15s',
        DEADLINE_COMPENSATION_MS: '15s',
        DEADLINE_PAYMENT_MS: '6s',
      },
    });
    customer = await stack.token('customer');
    skus = (await stack.products('limit=100')).map((p) => p.sku);
  }, 900_000);
  afterAll(async () => {
    await stopAllStacks();
  });

  /** Available + reserved + sold always equals received (no adjustments here). */
  const reconciles = (s: StockLevels) => s.available + s.reserved + s.sold === s.received;
  const reasonOf = (order: { statusHistory: { reason?: string }[] }) => order.statusHistory.at(-1)?.reason ?? '';

  it('confirms an order, and its stock ends sold', async () => {
    const sku = freshSku();
    const before = await stack.stock(sku);
    const orderId = await stack.placeOrder(customer, [{ sku, quantity: 2 }], 'tok_approve');
    const order = await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected']);
    expect(order.status).toBe('confirmed');
    expect(order.statusHistory.map((h) => h.status)).toEqual(['pending', 'confirmed']);
    await waitFor(async () => (await stack.stock(sku)).sold === before.sold + 2, 20_000);
    const after = await stack.stock(sku);
    expect(after).toMatchObject({ reserved: before.reserved, available: before.available - 2 });
    expect(reconciles(after)).toBe(true);
  });

  it('rejects an order whose lines cannot be priced, naming the unknown SKU', async () => {
    const orderId = await stack.placeOrder(customer, [{ sku: 'NOPE-9999', quantity: 1 }], 'tok_approve');
    const order = await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected']);
    expect(order.status).toBe('rejected');
    expect(reasonOf(order)).toContain('NOPE-9999');
  });

  it('rejects an order when stock is short, and reserves nothing', async () => {
    const sku = freshSku();
    const before = await stack.stock(sku);
    const orderId = await stack.placeOrder(customer, [{ sku, quantity: before.available + 1 }], 'tok_approve');
    const order = await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected']);
    expect(order.status).toBe('rejected');
    expect(reasonOf(order)).toMatch(/stock/i);
    expect(await stack.stock(sku)).toEqual(before);
  });

  it('rejects an order whose payment is declined, and releases its stock', async () => {
    const sku = freshSku();
    const before = await stack.stock(sku);
    const orderId = await stack.placeOrder(customer, [{ sku, quantity: 3 }], 'tok_decline');
    const order = await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected']);
    expect(order.status).toBe('rejected');
    expect(reasonOf(order)).toMatch(/declined/i);
    await waitFor(async () => (await stack.stock(sku)).reserved === before.reserved, 20_000);
    expect(await stack.stock(sku)).toEqual(before);
  });

  it('rejects an order whose payment never answers once the deadline passes, and releases its stock', async () => {
    const sku = freshSku();
    const before = await stack.stock(sku);
    const orderId = await stack.placeOrder(customer, [{ sku, quantity: 1 }], 'tok_no_answer');
    const order = await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected'], 45_000);
    expect(order.status).toBe('rejected');
    expect(reasonOf(order)).toMatch(/did not answer|in time|time/i);
    await waitFor(async () => (await stack.stock(sku)).reserved === before.reserved, 20_000);
    expect(await stack.stock(sku)).toEqual(before);
  });

  it('cancels an order after confirmation, and gives its stock back', async () => {
    const sku = freshSku();
    const before = await stack.stock(sku);
    const orderId = await stack.placeOrder(customer, [{ sku, quantity: 2 }], 'tok_approve');
    await stack.waitForOrder(customer, orderId, ['confirmed']);
    await waitFor(async () => (await stack.stock(sku)).sold === before.sold + 2, 20_000);
    const cancel = await stack.request('order-service', 'POST', `/v1/orders/${orderId}/cancel`, customer, {});
    expect(cancel.status).toBe(202);
    const order = await stack.waitForOrder(customer, orderId, ['cancelled'], 45_000);
    expect(order.statusHistory.map((h) => h.status)).toEqual(['pending', 'confirmed', 'cancellation-requested', 'cancelled']);
    await waitFor(async () => {
      const s = await stack.stock(sku);
      return s.sold === before.sold && s.available === before.available;
    }, 20_000);
    expect(reconciles(await stack.stock(sku))).toBe(true);
  });

  /** `npm run audit` as a user runs it (`--stack-file`), on this stack once it is idle. */
  const audit = async () => {
    const { targets, secret } = await stackAuditTargets(path.join(stack.dataDir, 'stack.json'));
    return runAudit(targets, { secret, issuer: 'urn:shop:auth', audience: 'urn:shop:api' });
  };

  it('leaves the five services in agreement: the auditor finds 0 violations once the stack is idle', { timeout: 120_000 }, async () => {
    let result = await audit();
    const deadline = Date.now() + 40_000;
    while (!result.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      result = await audit();
    }
    console.log(JSON.stringify({ bus, audit: result.summary }));
    expect(result.violations).toEqual([]);
    expect(result.summary.orders).toBeGreaterThanOrEqual(4);
    expect(result.summary.lagGauges).toBeGreaterThan(0);
  });

  it('names a read model that no longer agrees with its source: the inventory\'s and analytics\' stock levels', async () => {
    const sku = skus[0]!;
    const corrupt = async (service: string, column: string) => {
      const knex = createKnex(parseDatabaseUrl(stack.stack.databases[service]!.url), { max: 1 });
      try {
        const tables = (await knex.raw(`select tablename from pg_tables where schemaname = 'public' and tablename like '%stock_levels%'`)).rows as { tablename: string }[];
        for (const { tablename } of tables) await knex.raw(`update ?? set ${column} = ${column} + 7 where sku = ?`, [tablename, sku]);
      } finally {
        await knex.destroy();
      }
    };
    await corrupt('analytics', 'sold');
    await corrupt('inventory', 'on_hand');
    const result = await audit();
    const messages = result.violations.map((v) => `[${v.check}] ${v.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^\\[analytics totals\\] analytics stock ${sku}: sold`)),
        expect.stringMatching(new RegExp(`^\\[inventory read model\\] the inventory's stock-levels read model says ${sku} onHand`)),
      ]),
    );
    expect(result.ok).toBe(false);
  });
});
