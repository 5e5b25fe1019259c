import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import type { RecordedEvent } from '../src/event-store/event-store';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import type { Projection } from '../src/projections/projection';
import { ProjectionRunner, checksumTables } from '../src/projections/projection-runner';
import { createTestDatabase } from '../src/testing';
import { waitFor } from '../src/testing/event-store-conformance';

/** Per stream: how many events and the last revision. Idempotent by revision. */
function streamStats(name: string): Projection {
  return {
    name,
    tables: {
      [`${name}_streams`]: (t) =>
        `create table ${t} (stream_id text primary key, events int not null, last_revision int not null)`,
    },
    filter: { categories: ['acct'] },
    async apply(event: RecordedEvent, { trx, table }) {
      await trx.raw(
        `insert into ${table(`${name}_streams`)} as s (stream_id, events, last_revision) values (?, 1, ?)
         on conflict (stream_id) do update set events = s.events + 1, last_revision = excluded.last_revision
         where excluded.last_revision > s.last_revision`,
        [event.streamId, event.revision],
      );
    },
  };
}

describe('projection runner', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('projections');
    knex = createKnex(db, { max: 20 });
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    store = new PostgresEventStore({ connection: db });
  });
  afterAll(async () => {
    await store.close();
    await knex.destroy();
    await db.drop();
  });

  const append = (stream: string, n: number) =>
    store.append(stream, Array.from({ length: n }, (_, i) => ({ type: 'Deposited', data: { i } })));

  it('changes nothing when the same event is applied twice', async () => {
    const projection = streamStats('twice');
    const runner = new ProjectionRunner(knex, store, projection);
    await runner.init();
    await append(`acct-${randomUUID()}`, 1);
    const [event] = (await store.readAll({ filter: { categories: ['acct'] }, maxCount: 1 })).events;
    const ctx = { table: (t: string) => t };
    await knex.transaction((trx) => projection.apply(event!, { ...ctx, trx }));
    const once = await checksumTables(knex, ['twice_streams']);
    await knex.transaction((trx) => projection.apply(event!, { ...ctx, trx }));
    expect(await checksumTables(knex, ['twice_streams'])).toBe(once);
  });

  it('follows the log live, reports lag, and stores rows and checkpoint together', async () => {
    const runner = new ProjectionRunner(knex, store, streamStats('follow'));
    await runner.init();
    await runner.start();
    const stream = `acct-${randomUUID()}`;
    await append(stream, 3);
    await waitFor(async () => (await runner.lag()) === 0);
    const row = await knex('follow_streams').where({ stream_id: stream }).first();
    expect(row).toMatchObject({ events: 3, last_revision: 2 });
    const status = await runner.status();
    expect(status).toMatchObject({ state: 'live', lag: 0 });
    expect(status.position).toBe(status.head);
    await runner.stop();

    // While stopped, lag grows by what was appended.
    await append(stream, 2);
    expect(await runner.lag()).toBe(2);
  });

  it('rolls back rows and checkpoint together when a handler fails mid-page', async () => {
    const base = streamStats('atomic');
    let failOn: string | undefined;
    const projection: Projection = {
      ...base,
      async apply(event, ctx) {
        await base.apply(event, ctx);
        if (event.streamId === failOn) throw new Error('handler failed');
      },
    };
    const errors: unknown[] = [];
    const runner = new ProjectionRunner(knex, store, projection, { onError: (e) => errors.push(e) });
    await runner.init();
    const good = `acct-${randomUUID()}`;
    failOn = `acct-${randomUUID()}`;
    await store.append(good, [{ type: 'Deposited', data: {} }]);
    await store.append(failOn, [{ type: 'Deposited', data: {} }]);
    const before = await runner.status();
    await runner.start();
    await waitFor(() => errors.length > 0);
    // The page held both events: neither row nor checkpoint moved.
    expect(await knex('atomic_streams').where({ stream_id: good }).first()).toBeUndefined();
    expect((await runner.status()).position).toBe(before.position);
    failOn = undefined;
    await waitFor(async () => (await runner.lag()) === 0, 15_000);
    expect(await knex('atomic_streams').where({ stream_id: good }).first()).toMatchObject({ events: 1 });
    await runner.stop();
  });

  it('applies each event once with two runners of the same projection', async () => {
    // Not idempotent on purpose: a double application would show in the count.
    const projection: Projection = {
      name: 'counted',
      tables: { counted_total: (t) => `create table ${t} (id int primary key, n int not null)` },
      filter: { categories: ['acct'] },
      async apply(_event, { trx, table }) {
        await trx.raw(
          `insert into ${table('counted_total')} as c (id, n) values (1, 1) on conflict (id) do update set n = c.n + 1`,
        );
      },
    };
    const runners = [new ProjectionRunner(knex, store, projection), new ProjectionRunner(knex, store, projection)];
    for (const r of runners) await r.init();
    await Promise.all(runners.map((r) => r.start()));
    await Promise.all(Array.from({ length: 20 }, () => append(`acct-${randomUUID()}`, 5)));
    await waitFor(async () => (await runners[0]!.lag()) === 0, 15_000);
    const total = (await store.readAll({ filter: { categories: ['acct'] }, maxCount: 100_000 })).events.length;
    const row = (await knex('counted_total').where({ id: 1 }).first()) as { n: number };
    expect(row.n).toBe(total);
    await Promise.all(runners.map((r) => r.stop()));
  });

  it('rebuilds from 0 into shadow tables and swaps them in while events arrive and reads keep working', async () => {
    const projection = streamStats('rebuilt');
    const runner = new ProjectionRunner(knex, store, projection, { batchSize: 50 });
    await runner.init();
    await runner.start();
    const streams = Array.from({ length: 30 }, () => `acct-${randomUUID()}`);
    for (const s of streams) await append(s, 20);
    await waitFor(async () => (await runner.lag()) === 0, 30_000);

    // Damage the live read model so that only a rebuild can make it right again.
    await knex('rebuilt_streams').update({ events: 0 });

    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) await append(streams[i++ % streams.length]!, 1);
    })();
    let reads = 0;
    let readErrors = 0;
    let sawDamagedDuringRebuild = false;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        try {
          const rows = (await knex('rebuilt_streams').select('events')) as { events: number }[];
          if (rows.some((r) => r.events === 0)) sawDamagedDuringRebuild = true;
          reads++;
        } catch {
          readErrors++;
        }
      }
    })();

    const progress: number[] = [];
    const result = await runner.rebuild({ batchSize: 100, onProgress: (p) => progress.push(p.position) });
    writing = false;
    await writer;
    reading = false;
    await reader;

    expect(readErrors).toBe(0);
    expect(reads).toBeGreaterThan(0);
    // The live tables served (damaged) reads until the swap.
    expect(sawDamagedDuringRebuild).toBe(true);
    expect(progress.length).toBeGreaterThan(1);
    expect((await knex('rebuilt_streams').where({ events: 0 })).length).toBe(0);

    // After the swap the live runner carries on; once caught up, the tables
    // equal a from-scratch build of the whole log.
    await waitFor(async () => (await runner.lag()) === 0, 30_000);
    await runner.stop();
    const fresh = streamStats('fresh');
    const scratch = new ProjectionRunner(knex, store, fresh);
    await scratch.init();
    await scratch.start();
    await waitFor(async () => (await scratch.lag()) === 0, 30_000);
    await scratch.stop();
    const cols = 'stream_id, events, last_revision';
    const rebuilt = (await knex.raw(`select ${cols} from rebuilt_streams order by stream_id`)) as { rows: unknown[] };
    const scratchRows = (await knex.raw(`select ${cols} from fresh_streams order by stream_id`)) as { rows: unknown[] };
    expect(rebuilt.rows).toEqual(scratchRows.rows);
    expect(rebuilt.rows.length).toBeGreaterThanOrEqual(30);
    expect((await runner.status()).state).toBe('live');
    expect(result.checksum).toMatch(/^[0-9a-f]{32}$/);
  });

  it('rebuilds from a position onto a copy of the live tables, re-applying only the later events', async () => {
    const runner = new ProjectionRunner(knex, store, streamStats('partial'), { batchSize: 50 });
    await runner.init();
    await runner.start();
    const early = `acct-${randomUUID()}`;
    const late = `acct-${randomUUID()}`;
    await append(early, 4);
    await waitFor(async () => (await runner.lag()) === 0, 15_000);
    const from = await store.headPosition();
    await append(late, 5);
    await waitFor(async () => (await runner.lag()) === 0, 15_000);
    await runner.stop();
    const head = await store.headPosition();

    // Beyond the live checkpoint: refused before anything changes.
    await expect(runner.rebuild({ fromPosition: head + 10 })).rejects.toThrow(/only at position/);
    expect((await runner.status()).state).toBe('live');

    // A mark on a row older than `from` survives (the rows are copied, not rebuilt);
    // the late stream's row is re-derived idempotently from the events after `from`.
    await knex('partial_streams').where({ stream_id: early }).update({ events: 99 });
    await knex('partial_streams').where({ stream_id: late }).update({ events: 1, last_revision: 0 });
    const result = await runner.rebuild({ fromPosition: from, batchSize: 2 });
    expect(result.eventsApplied).toBe(5);
    expect(result.position).toBe(head);
    expect(await knex('partial_streams').where({ stream_id: early }).first()).toMatchObject({ events: 99, last_revision: 3 });
    expect(await knex('partial_streams').where({ stream_id: late }).first()).toMatchObject({ events: 5, last_revision: 4 });
    expect(await runner.status()).toMatchObject({ state: 'live', position: head, lag: 0 });
    expect(result.checksum).toBe(await checksumTables(knex, ['partial_streams']));
  });
});
