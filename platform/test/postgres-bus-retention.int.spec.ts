import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busRetentionOf, busConfigShape } from '../src/bus/create-bus';
import { PostgresBus, migrateBus } from '../src/bus/postgres/postgres-bus';
import { loadConfig } from '../src/config/config';
import { createKnex } from '../src/persistence/migrations';
import { createTestDatabase, waitFor } from '../src/testing';

/**
 * The embedded bus's retention: a message goes only once it is old enough
 * (or far enough behind its partition's end) and every group reading its
 * partition has consumed it; a partition no group reads keeps everything.
 */
describe('postgres bus retention', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: ReturnType<typeof createKnex>;
  let bus: PostgresBus;
  beforeAll(async () => {
    db = await createTestDatabase('bus_retention');
    knex = createKnex(db);
    await migrateBus(knex);
    bus = new PostgresBus({ connection: db, heartbeatMs: 100, sessionTimeoutMs: 1_000, commitIntervalMs: 0 });
    await bus.createTopics([
      { name: 'kept', partitions: 1 },
      { name: 'unread', partitions: 1 },
    ]);
  });
  afterAll(async () => {
    await bus?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const offsetsOf = async (topic: string) =>
    ((await knex('bus_messages').where({ topic }).orderBy('offset').pluck('offset')) as string[]).map(Number);
  const publish = (topic: string, n: number) =>
    bus.publish(Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: JSON.stringify({ i }) })));
  /** A group that reads the topic and stops once it has handled `count` messages. */
  async function consume(groupId: string, topic: string, count: number) {
    const seen: string[] = [];
    const consumer = bus.consumer({
      groupId,
      topics: [topic],
      handler: async (m) => {
        if (seen.length >= count) throw new Error('stop here');
        seen.push(m.key);
      },
    });
    await consumer.start();
    await waitFor(async () => seen.length >= count);
    await consumer.stop();
  }

  it('deletes by age only what every group has consumed, and nothing of a partition no group reads', async () => {
    await publish('kept', 10);
    await publish('unread', 4);
    await consume('fast', 'kept', 10);
    await consume('slow', 'kept', 4);
    await waitFor(async () => Number((await knex('bus_group_offsets').where({ group_id: 'slow' }).first())?.committed ?? 0) >= 4);
    // Old enough: everything is older than 0 ms. Only the offsets below the slow group's go.
    const deleted = await bus.applyRetention({ maxAgeMs: 0 });
    const slow = Number((await knex('bus_group_offsets').where({ group_id: 'slow' }).first()).committed);
    expect(deleted).toBe(slow);
    expect(await offsetsOf('kept')).toEqual(Array.from({ length: 10 - slow }, (_, i) => slow + i));
    expect(await offsetsOf('unread')).toEqual([0, 1, 2, 3]);
    // Not old enough: nothing goes.
    await consume('slow', 'kept', 10 - slow);
    expect(await bus.applyRetention({ maxAgeMs: 3_600_000 })).toBe(0);
  });

  it('deletes by size what is more than maxMessages behind the end, once consumed, and runs on its schedule', async () => {
    const scheduled = new PostgresBus({ connection: db, retention: { maxMessages: 2, everyMs: 50 } });
    try {
      await waitFor(async () => (await offsetsOf('kept')).length === 2, 5_000);
      expect(await offsetsOf('kept')).toEqual([8, 9]);
      expect(await offsetsOf('unread')).toEqual([0, 1, 2, 3]);
    } finally {
      await scheduled.close();
    }
  });

  it('is configured by BUS_RETENTION (a duration or off), BUS_RETENTION_MESSAGES and BUS_RETENTION_EVERY', () => {
    const config = (env: Record<string, string>) => busRetentionOf(loadConfig(busConfigShape, env));
    expect(config({})).toEqual({ retention: { everyMs: 300_000, maxAgeMs: 7 * 86_400_000 } });
    expect(config({ BUS_RETENTION: 'off' })).toEqual({});
    expect(config({ BUS_RETENTION: 'off', BUS_RETENTION_MESSAGES: '1000', BUS_RETENTION_EVERY: '1m' })).toEqual({ retention: { everyMs: 60_000, maxMessages: 1_000 } });
    expect(() => config({ BUS_RETENTION: 'forever' })).toThrow(/BUS_RETENTION/);
  });
});
