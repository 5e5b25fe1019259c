import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBus, migrateBus } from '../src/bus/postgres/postgres-bus';
import type { RecordedEvent } from '../src/event-store/event-store';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { OutboxRelay, outboxMigrations } from '../src/outbox/outbox-relay';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { LogFanOut } from '../src/projections/log-fan-out';
import type { Projection } from '../src/projections/projection';
import { ProjectionRunner } from '../src/projections/projection-runner';
import { createTestDatabase, waitFor } from '../src/testing';
import { relayedMessage } from './fixtures/relayed-message';

type Db = Awaited<ReturnType<typeof createTestDatabase>>;

/**
 * Counts events per category in a row per (projection, category), with a
 * plain increment and no guard: an event applied twice, or skipped, shows in
 * the count. `fail` throws the first `times` times it is given that event type
 * (3: in the shared transaction, then alone, then on its first catch-up).
 */
function counter(name: string, categories: string[], options: { fail?: { type: string; times: number } } = {}): Projection & { failures: number } {
  const projection: Projection & { failures: number } = {
    name,
    failures: 0,
    tables: { [`${name}_counts`]: (t) => `create table ${t} (category text primary key, n int not null)` },
    filter: { categories },
    readsMetadata: false,
    apply: (event, ctx) => projection.applyBatch!([event], ctx),
    async applyBatch(events: RecordedEvent[], { trx, table }) {
      if (options.fail && projection.failures < options.fail.times && events.some((e) => e.type === options.fail!.type)) {
        projection.failures++;
        throw new Error(`${name} fails on ${options.fail.type}`);
      }
      const byCategory = new Map<string, number>();
      for (const e of events) {
        const category = e.streamId.split('-')[0]!;
        byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
      }
      for (const [category, n] of byCategory) {
        await trx.raw(`insert into ${table(`${name}_counts`)} as c (category, n) values (?, ?) on conflict (category) do update set n = c.n + excluded.n`, [
          category,
          n,
        ]);
      }
    },
  };
  return projection;
}

describe('log fan-out (one subscription for the projections and the relay)', () => {
  let serviceDb: Db;
  let busDb: Db;
  let db: Knex;
  let busKnex: Knex;
  let store: PostgresEventStore;
  let bus: PostgresBus;

  beforeAll(async () => {
    [serviceDb, busDb] = await Promise.all([createTestDatabase('fan_out'), createTestDatabase('fan_out_bus')]);
    db = createKnex(serviceDb);
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'outbox', outboxMigrations);
    busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    store = new PostgresEventStore({ connection: serviceDb });
    bus = new PostgresBus({ connection: busDb });
  });
  afterAll(async () => {
    await bus?.close();
    await store?.close();
    await Promise.all([db?.destroy(), busKnex?.destroy()]);
    await Promise.all([serviceDb?.drop(), busDb?.drop()]);
  });

  const counts = async (name: string) =>
    Object.fromEntries(((await db(`${name}_counts`).select('category', 'n')) as { category: string; n: number }[]).map((r) => [r.category, r.n]));
  const published = async (topic: string) =>
    ((await busKnex('bus_messages').where({ topic }).select('value')) as { value: string }[]).map((r) => (JSON.parse(r.value) as { seq: string }).seq);

  it('feeds every projection and the relay from one subscription, each event once, and a member that fails catches up alone', async () => {
    const run = randomUUID().slice(0, 6);
    const topic = `fan-out-${run}`;
    await bus.createTopics([{ name: topic, partitions: 2 }]);
    const [a, b, c] = [`a${run}`, `b${run}`, `c${run}`];
    const all = counter(`all_${run}`, [a, b, c]);
    const some = counter(`some_${run}`, [a, b]);
    const flaky = counter(`flaky_${run}`, [b, c], { fail: { type: 'Poke', times: 3 } });
    const runners = [all, some, flaky].map((p) => new ProjectionRunner(db, store, p));
    const relay = new OutboxRelay({
      name: `relay-${run}`,
      store,
      db,
      lockConnection: serviceDb,
      bus,
      retryMs: 100,
      filter: { categories: [a] },
      toMessages: (e) => [relayedMessage(e, topic)],
    });
    const errors: string[] = [];
    const fanOut = new LogFanOut({ store, db, projections: runners, relay, retryMs: 100, onError: (_err, member) => errors.push(member) });
    await fanOut.start();
    try {
      // 3 categories x 20 streams x 5 events, appended by 20 concurrent writers; one `Poke` in the middle.
      const expected: Record<string, number> = { [a]: 0, [b]: 0, [c]: 0 };
      for (let round = 0; round < 5; round++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, s) =>
            Promise.all(
              [a, b, c].map((cat) => {
                expected[cat]!++;
                return store.append(`${cat}-${s}`, [{ type: round === 2 && s === 7 && cat === b ? 'Poke' : 'Touched', data: { seq: `${cat}-${s}-${round}` } }]);
              }),
            ),
          ),
        );
      }
      const head = await store.headPosition();
      await waitFor(async () => (await Promise.all(runners.map((r) => r.liveCheckpoint()))).every((p) => p === head), 20_000);
      await waitFor(async () => (await published(topic)).length >= 100, 20_000);

      // Each projection counted exactly the events its filter names: nothing skipped, nothing twice.
      expect(await counts(all.name)).toEqual(expected);
      expect(await counts(some.name)).toEqual({ [a]: expected[a], [b]: expected[b] });
      expect(await counts(flaky.name)).toEqual({ [b]: expected[b], [c]: expected[c] });
      expect(flaky.failures).toBe(3);
      // Only the broken projection was reported: its failure was not the others'.
      expect(new Set(errors)).toEqual(new Set([`projection ${flaky.name}`]));
      // The relay published its category's events, each once.
      const seqs = await published(topic);
      expect(seqs).toHaveLength(100);
      expect(new Set(seqs).size).toBe(100);
      expect(seqs.every((s) => s.startsWith(`${a}-`))).toBe(true);

      // One shared subscription: far fewer pages than events, and the failed member is back in step.
      const status = fanOut.status();
      expect(status.pages).toBeLessThan(300);
      expect(status.members.find((m) => m.name === `projection ${flaky.name}`)?.mode).toBe('inline');
      expect(status.members.every((m) => m.mode !== 'catching-up')).toBe(true);

      // And it keeps following: one more event reaches every member.
      await store.append(`${c}-x`, [{ type: 'Touched', data: { seq: 'late' } }]);
      await waitFor(async () => (await counts(flaky.name))[c] === expected[c]! + 1, 10_000);
      expect((await counts(all.name))[c]).toBe(expected[c]! + 1);
    } finally {
      await fanOut.stop();
    }
  });
});
