import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker, NativeConnection } from '@temporalio/worker';
import { PostgresEventStore, createKnex, eventStoreMigrations, runMigrations } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import { cachedTemporalCli } from '../bench/temporal/temporal-cli';
import { startTemporalDevServer, runTemporalPeer, type TemporalDevServer } from '../bench/temporal/temporal-peer';
import { orderStream, placeOrderActivities, type PlaceOrderInput, type StepInput } from '../bench/temporal/place-order-activities';
import type { placeOrder } from '../bench/temporal/place-order-workflow';
import { DEFAULT_CRITERIA } from '../bench/saga-steps';

/**
 * The peer of `bench:saga --peer temporal` does the work it claims: the
 * platform's saga shape (compensation in reverse on a declined payment), one
 * event per step on the order's stream at the expected revision, nothing
 * written twice when Temporal retries an activity whose append committed;
 * and its measured run reports what the bench prints. Needs the Temporal CLI
 * in its cache (`npm run temporal:cli` builds it with Go; CI does before the
 * tests): skipped with a warning without it, failing under CI.
 */
const cli = cachedTemporalCli();
if (!cli) {
  const reason = 'the Temporal CLI is not built (npm run temporal:cli builds it once with Go)';
  if (process.env.CI) throw new Error(`the Temporal peer tests need the Temporal CLI: ${reason}`);
  console.warn(`skipping the Temporal peer tests: ${reason}`);
}

const require = createRequire(import.meta.url);

describe.skipIf(!cli)('the Temporal peer of bench:saga', () => {
  const TASK_QUEUE = `peer-test-${randomUUID()}`;
  let dir: string;
  let server: TemporalDevServer;
  let store: PostgresEventStore;
  let worker: Worker;
  let running: Promise<void>;
  let client: Client;
  let drop: () => Promise<void>;
  /** Orders whose reservation step fails once after its append committed (a lost activity completion). */
  const loseReservationReply = new Set<string>();

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-temporal-test-'));
    const db = await createTestDatabase('temporal_peer');
    drop = db.drop;
    const knex = createKnex(db);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    await knex.destroy();
    store = new PostgresEventStore({ connection: db });
    server = await startTemporalDevServer(cli!, 'memory', dir);
    const activities = placeOrderActivities(store);
    const connection = await NativeConnection.connect({ address: server.address });
    worker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('../bench/temporal/place-order-workflow.ts'),
      activities: {
        ...activities,
        async reserveStock(s: StepInput) {
          const result = await activities.reserveStock(s);
          if (loseReservationReply.delete(s.orderId)) throw new Error('the activity completed, but its reply was lost');
          return result;
        },
      },
    });
    running = worker.run().finally(() => connection.close());
    client = new Client({ connection: server.connection, namespace: 'default' });
  }, 180_000);

  afterAll(async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await server?.stop();
    await store?.close();
    await drop?.();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  const run = (input: PlaceOrderInput) =>
    client.workflow.execute<typeof placeOrder>('placeOrder', { taskQueue: TASK_QUEUE, workflowId: `order-${input.orderId}`, args: [input] });
  const stream = async (orderId: string) => (await store.readStream(orderStream(orderId))).map((e) => ({ type: e.type, revision: e.revision }));

  it('runs the four steps of an approved order, one event each at the next revision', async () => {
    const orderId = randomUUID();
    await expect(run({ orderId, sku: 'SKU-1', quantity: 2, paymentToken: 'tok_approve' })).resolves.toEqual({ status: 'confirmed' });
    expect(await stream(orderId)).toEqual([
      { type: 'LinesPriced', revision: 0 },
      { type: 'StockReserved', revision: 1 },
      { type: 'PaymentAuthorized', revision: 2 },
      { type: 'OrderConfirmed', revision: 3 },
    ]);
  });

  it('compensates a declined payment in reverse: the stock released, then the order rejected with the reason', async () => {
    const orderId = randomUUID();
    await expect(run({ orderId, sku: 'SKU-1', quantity: 1, paymentToken: 'tok_decline' })).resolves.toEqual({ status: 'rejected', reason: 'payment declined' });
    expect(await stream(orderId)).toEqual([
      { type: 'LinesPriced', revision: 0 },
      { type: 'StockReserved', revision: 1 },
      { type: 'PaymentDeclined', revision: 2 },
      { type: 'StockReleased', revision: 3 },
      { type: 'OrderRejected', revision: 4 },
    ]);
  });

  it('writes nothing twice when Temporal retries a step whose append had committed', async () => {
    const orderId = randomUUID();
    loseReservationReply.add(orderId);
    await expect(run({ orderId, sku: 'SKU-2', quantity: 1, paymentToken: 'tok_approve' })).resolves.toEqual({ status: 'confirmed' });
    expect(loseReservationReply.has(orderId)).toBe(false);
    expect((await stream(orderId)).map((e) => e.type)).toEqual(['LinesPriced', 'StockReserved', 'PaymentAuthorized', 'OrderConfirmed']);
  });

  it('measures a step as the bench prints it: every workflow terminal, CPU of the server, the worker and PostgreSQL, transactions', async () => {
    const steps: unknown[] = [];
    const results = await runTemporalPeer({
      cli: cli!,
      persistence: 'disk',
      rates: [5],
      seconds: 2,
      warmupSeconds: 0,
      criteria: DEFAULT_CRITERIA,
      declineShare: 0.1,
      skus: ['SKU-1'],
      keepGoing: false,
      log: () => undefined,
      emit: (r) => steps.push(r),
    });
    expect(steps).toEqual(results);
    const [step] = results;
    expect(step).toMatchObject({ system: 'temporal-dev-server-disk', offeredRate: 5, offered: 10, accepted: 10, failed: 0, terminal: 10, statuses: { confirmed: 9, rejected: 1 } });
    expect(step!.p99Ms).toBeGreaterThan(0);
    expect(step!.cpuMsPerOrder.byProcess['temporal-server']).toBeGreaterThan(0);
    expect(step!.cpuMsPerOrder.byProcess['temporal-worker']).toBeGreaterThan(0);
    expect(step!.cpuMsPerOrder.byProcess['postgres:peer']).toBeGreaterThan(0);
    // One append per step, fewer when concurrent appends share a group commit: 4 or 5 steps per saga.
    expect(step!.transactionsPerOrder.total).toBeGreaterThan(1);
    expect(step!.transactionsPerOrder.total).toBeLessThan(10);
  }, 180_000);
});
