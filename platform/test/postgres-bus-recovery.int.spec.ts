import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerReadiness } from '../src/bus/bus-readiness';
import { PostgresBus, migrateBus } from '../src/bus/postgres/postgres-bus';
import { createKnex } from '../src/persistence/migrations';
import { createTestDatabase, testAdminConnection, waitFor } from '../src/testing';

describe('postgres bus consumer recovery', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let bus: PostgresBus;
  beforeAll(async () => {
    db = await createTestDatabase('bus_recovery');
    const knex = createKnex(db);
    await migrateBus(knex);
    await knex.destroy();
    bus = new PostgresBus({ connection: db, heartbeatMs: 100, sessionTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await bus.close();
    await db.drop();
  });

  it('turns not-ready when its connection is killed, rejoins by itself, and loses nothing', async () => {
    const received: string[] = [];
    const consumer = bus.consumer({
      groupId: 'recovering',
      topics: ['recovery'],
      handler: async (m) => {
        received.push(m.key);
      },
    });
    await consumer.start();
    const readiness = consumerReadiness('recovering', consumer);
    await expect(readiness.check()).resolves.toBeUndefined();
    await bus.publish([{ topic: 'recovery', key: 'before', value: '{}' }]);
    await waitFor(() => received.includes('before'));

    // The server drops the consumer's session (as a failover or an admin would).
    const admin = new pg.Client({ ...testAdminConnection(), database: 'postgres' });
    await admin.connect();
    const killed = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'bus-consumer recovering %'",
      [db.database],
    );
    await admin.end();
    expect(killed.rowCount).toBe(1);
    await waitFor(() => !consumer.healthy(), 5_000);
    await expect(readiness.check()).rejects.toThrow(/consumer recovering is reconnecting/);

    await bus.publish([{ topic: 'recovery', key: 'during', value: '{}' }]);
    await waitFor(() => consumer.healthy(), 10_000);
    await expect(readiness.check()).resolves.toBeUndefined();
    await waitFor(() => received.includes('during'), 10_000);
    expect(received.filter((k) => k === 'before')).toHaveLength(1);
    await consumer.stop();
  });
});
