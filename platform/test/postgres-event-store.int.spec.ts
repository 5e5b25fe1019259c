import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { createTestDatabase, describeEventStoreConformance } from '../src/testing';

describeEventStoreConformance('postgres', async () => {
  const db = await createTestDatabase('es_conformance');
  const knex = createKnex(db);
  await runMigrations(knex, 'event_store', eventStoreMigrations);
  const store = new PostgresEventStore({ connection: db, poolSize: 20 });
  const others: PostgresEventStore[] = [];
  return {
    store,
    openAnotherClient() {
      const other = new PostgresEventStore({ connection: db, poolSize: 4 });
      others.push(other);
      return Promise.resolve(other);
    },
    // A trigger that sleeps in some append transactions after their positions
    // are taken and before they commit: the window in which a naive store lets
    // a reader see a higher position first and skip the lower one for good.
    async setSlowCommits(enabled) {
      if (enabled) {
        await knex.raw(`
          create or replace function es_test_slow_commit() returns trigger language plpgsql as $$
          begin
            if random() < 0.3 then perform pg_sleep(random() * 0.02); end if;
            return null;
          end $$;
          create trigger es_test_slow_commit after insert on es_events
            for each statement execute function es_test_slow_commit();`);
      } else {
        await knex.raw('drop trigger if exists es_test_slow_commit on es_events');
      }
    },
    async close() {
      await Promise.all(others.map((o) => o.close()));
      await store.close();
      await knex.destroy();
      await db.drop();
    },
  };
});

describe('postgres event store: filtered reads scan bounded windows', () => {
  it('fills pages across windows and checkpoints past what it scanned, as one unbounded scan would', async () => {
    const db = await createTestDatabase('es_windows');
    const knex = createKnex(db);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    // Windows of 4 positions: every page below needs several queries.
    const windowed = new PostgresEventStore({ connection: db, filteredScanWindow: 4 });
    const unbounded = new PostgresEventStore({ connection: db, filteredScanWindow: 1_000_000 });
    try {
      const cat = `win${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 30; i++) {
        await windowed.append(i % 7 === 0 ? `${cat}-${i}` : `other-${randomUUID()}`, [{ type: i % 2 === 0 ? 'Even' : 'Odd', data: { i } }]);
      }
      const head = await windowed.headPosition();
      const pages = async (store: PostgresEventStore, filter: { categories?: string[]; types?: string[] }, maxCount: number) => {
        const out: { positions: number[]; scannedTo: number }[] = [];
        let from = 0;
        for (;;) {
          const page = await store.readAll({ fromPosition: from, maxCount, filter });
          out.push({ positions: page.events.map((e) => e.position), scannedTo: page.scannedTo });
          if (page.events.length < maxCount) return out;
          from = page.scannedTo;
        }
      };
      const byCategory = await pages(windowed, { categories: [cat] }, 2);
      expect(byCategory).toEqual([
        { positions: [1, 8], scannedTo: 8 },
        { positions: [15, 22], scannedTo: 22 },
        { positions: [29], scannedTo: head },
      ]);
      expect(byCategory).toEqual(await pages(unbounded, { categories: [cat] }, 2));
      const byType = await pages(windowed, { types: ['Odd'] }, 5);
      expect(byType.flatMap((p) => p.positions)).toEqual(Array.from({ length: 15 }, (_, i) => 2 * i + 2));
      expect(byType).toEqual(await pages(unbounded, { types: ['Odd'] }, 5));
      // Nothing matches: one page, empty, scanned to the head through every window.
      expect(await windowed.readAll({ fromPosition: 0, filter: { categories: ['nothing'] } })).toEqual({ events: [], scannedTo: head });
    } finally {
      await windowed.close();
      await unbounded.close();
      await knex.destroy();
      await db.drop();
    }
  });
});
