/**
 * The Temporal peer's worker process (forked by `temporal-peer.ts`): a
 * Temporal worker on task queue `$TEMPORAL_TASK_QUEUE` running the
 * place-order workflow (`place-order-workflow.ts`) and its activities
 * (`place-order-activities.ts`) against the platform's Postgres event store
 * in `$PEER_DATABASE`. The worker's defaults are kept (the concurrency a new
 * user gets). Tells its parent `{ ready: true }` once it polls, and shuts
 * down gracefully on `{ stop: true }`.
 */
import { createRequire } from 'node:module';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { PostgresEventStore, type DatabaseConnection } from '@shop/platform';
import { placeOrderActivities } from './place-order-activities';

const require = createRequire(import.meta.url);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: 'WARN' } } });
  const store = new PostgresEventStore({ connection: JSON.parse(process.env.PEER_DATABASE!) as DatabaseConnection });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: process.env.TEMPORAL_TASK_QUEUE!,
    workflowsPath: require.resolve('./place-order-workflow.ts'),
    activities: placeOrderActivities(store),
  });
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop) worker.shutdown();
  });
  const running = worker.run();
  while (worker.getState() === 'INITIALIZED') await new Promise((r) => setTimeout(r, 50));
  process.send?.({ ready: true });
  await running;
  await connection.close();
  await store.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error('temporal peer worker failed:', err);
  process.exit(1);
});
