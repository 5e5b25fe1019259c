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
