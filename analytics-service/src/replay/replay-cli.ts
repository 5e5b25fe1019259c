import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import type { Knex } from 'knex';
import {
  createEventStoreFromEnv,
  ProjectionRunner,
  applyEvents,
  checksumTables,
  createKnex,
  parseDatabaseUrl,
  type EventStore,
  type Projection,
  type ProjectionContext,
  type RebuildProgress,
} from '@shop/platform';
import { allProjections } from '../read-models/all-projections';

/**
 * `npm run replay -- <projection> [--from-position N] [--all] [--dry-run]`
 *
 * Rebuilds projections of the analytics archive into shadow tables while the
 * live ones keep serving (`ProjectionRunner.rebuild`), swaps them in when
 * caught up, then verifies the swapped-in tables against a from-scratch
 * build up to the same archive position (see `scratchChecksum`).
 */

export class ReplayUsageError extends Error {
  readonly exitCode = 2;
}

export interface ReplayOptions {
  /** Projection names to rebuild (ignored with `all`). */
  projections: string[];
  all?: boolean;
  fromPosition?: number;
  dryRun?: boolean;
  /** The analytics database; when absent, `databaseUrlFrom(env)`. */
  databaseUrl?: string;
  batchSize?: number;
  /** Where to print (stdout by default). */
  out?: NodeJS.WritableStream;
  /** `auto`: a progress bar on a TTY, plain lines otherwise. */
  progress?: 'auto' | 'bar' | 'lines' | 'off';
  /** The service's environment (its event store: EVENT_STORE, EVENTSTORE_URL, EVENTSTORE_STREAM_PREFIX); `process.env` when absent. */
  env?: NodeJS.ProcessEnv;
}

export interface ReplayProjectionReport {
  projection: string;
  tables: string[];
  from: number;
  head: number;
  /** head − from: the archive positions to replay (events on Postgres, whose positions are dense; log bytes on EventStoreDB). */
  eventsToReplay: number;
  /** Absent on a dry run. */
  rebuilt?: { position: number; eventsApplied: number; checksum: string; expectedChecksum: string; ok: boolean };
}

export interface ReplayReport {
  ok: boolean;
  dryRun: boolean;
  projections: ReplayProjectionReport[];
}

/** `DATABASE_URL`, else `databases.analytics.url` from `.data/stack.json` (written by `npm start`). */
export function databaseUrlFrom(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const file = path.join(cwd, '.data', 'stack.json');
  let stack: { databases?: { analytics?: { url?: string } } };
  try {
    stack = JSON.parse(readFileSync(file, 'utf8')) as typeof stack;
  } catch (err) {
    throw new ReplayUsageError(`DATABASE_URL is not set and ${file} cannot be read (${(err as Error).message}); run \`npm start\` or set DATABASE_URL`);
  }
  const url = stack.databases?.analytics?.url;
  if (!url) throw new ReplayUsageError(`DATABASE_URL is not set and ${file} has no databases.analytics.url`);
  return url;
}

export function selectProjections(options: Pick<ReplayOptions, 'projections' | 'all'>, available = allProjections()): Projection[] {
  const names = available.map((p) => p.name);
  if (options.all) return available;
  if (options.projections.length === 0) throw new ReplayUsageError(`name a projection or pass --all; projections: ${names.join(', ')}`);
  const unknown = options.projections.filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new ReplayUsageError(`unknown projection ${unknown.join(', ')}; projections: ${names.join(', ')}`);
  return available.filter((p) => options.projections.includes(p.name));
}

/**
 * The checksum a from-scratch build of `projection` computes over the archive
 * up to `upTo` (inclusive): the projection's own DDL creates its tables under
 * the same names in a throwaway schema, every event up to `upTo` is applied
 * to them, and `checksumTables` runs with that schema first on the
 * search_path (so the table names, which are part of the digest, match).
 * The schema is dropped afterwards.
 */
export async function scratchChecksum(db: Knex, store: EventStore, projection: Projection, upTo: number, batchSize = 10_000): Promise<string> {
  const schema = `replay_verify_${randomBytes(6).toString('hex')}`;
  const tables = Object.keys(projection.tables);
  const qualified = (logical: string) => {
    if (!tables.includes(logical)) throw new Error(`projection ${projection.name} has no table "${logical}"`);
    return `${schema}.${logical}`;
  };
  await db.raw(`create schema ${schema}`);
  try {
    for (const [logical, ddl] of Object.entries(projection.tables)) await db.raw(ddl(qualified(logical)));
    let position = 0;
    while (position < upTo) {
      const page = await store.readAll({ fromPosition: position, maxCount: batchSize, filter: projection.filter, withMetadata: projection.readsMetadata !== false });
      const events = page.events.filter((e) => e.position <= upTo);
      await db.transaction(async (trx) => {
        const ctx: ProjectionContext = { trx, table: qualified };
        await applyEvents(projection, events, ctx);
      });
      if (page.scannedTo <= position) break;
      position = page.scannedTo;
    }
    return await db.transaction(async (trx) => {
      await trx.raw(`set local search_path to ${schema}`);
      return checksumTables(trx, tables);
    });
  } finally {
    await db.raw(`drop schema if exists ${schema} cascade`);
  }
}

/** A progress display: a cli-progress bar on a TTY, a plain line per second otherwise. */
function progressDisplay(mode: 'bar' | 'lines' | 'off', out: NodeJS.WritableStream, name: string, from: number, head: number) {
  const started = Date.now();
  const rate = (done: number) => Math.round(done / Math.max((Date.now() - started) / 1000, 0.001));
  if (mode === 'off') return { update: () => undefined, stop: () => undefined };
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: out,
        format: `${name.padEnd(14)} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(head - from, 0), 0, { rate: 0 });
    return {
      update: (p: RebuildProgress) => {
        bar.setTotal(Math.max(p.head - from, 0));
        bar.update(p.position - from, { rate: rate(p.position - from) });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLine = 0;
  const line = (p: RebuildProgress, force = false) => {
    if (!force && Date.now() - lastLine < 1_000) return;
    lastLine = Date.now();
    const done = p.position - from;
    const total = Math.max(p.head - from, 0);
    const perSecond = rate(done);
    const eta = perSecond > 0 ? Math.ceil(Math.max(total - done, 0) / perSecond) : 0;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    out.write(`${name}: ${done}/${total} events (${pct}%), ${perSecond} ev/s, ETA ${eta}s\n`);
  };
  let last: RebuildProgress | undefined;
  return {
    update: (p: RebuildProgress) => {
      last = p;
      line(p);
    },
    stop: () => {
      if (last) line(last, true);
    },
  };
}

/**
 * Rebuilds (or, with `dryRun`, describes) the selected projections one after
 * the other. Throws `ReplayUsageError` for bad input before touching
 * anything; a checksum mismatch is reported (`ok: false`), not thrown.
 */
export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const out = options.out ?? process.stdout;
  const from = options.fromPosition ?? 0;
  if (!Number.isInteger(from) || from < 0) throw new ReplayUsageError(`--from-position must be a non-negative integer`);
  const projections = selectProjections(options);
  const connection = parseDatabaseUrl(options.databaseUrl ?? databaseUrlFrom(process.env));
  const mode =
    options.progress === undefined || options.progress === 'auto'
      ? (out as NodeJS.WriteStream).isTTY
        ? 'bar'
        : 'lines'
      : options.progress;
  const db = createKnex(connection, { max: 4 });
  // The service's own store, by the same variables as the service (EVENT_STORE, EVENTSTORE_URL, EVENTSTORE_STREAM_PREFIX).
  const store = createEventStoreFromEnv(options.env ?? process.env, connection, { poolSize: 2 });
  await store.ready?.();
  const report: ReplayReport = { ok: true, dryRun: options.dryRun ?? false, projections: [] };
  try {
    for (const projection of projections) {
      const tables = Object.keys(projection.tables);
      const head = await store.headPosition();
      const entry: ReplayProjectionReport = {
        projection: projection.name,
        tables,
        from,
        head,
        eventsToReplay: Math.max(head - from, 0),
      };
      report.projections.push(entry);
      if (options.dryRun) {
        out.write(`would rebuild ${projection.name} (tables ${tables.join(', ')}) from position ${from}: ${entry.eventsToReplay} events to replay (head ${head})\n`);
        continue;
      }
      out.write(`rebuilding ${projection.name} (tables ${tables.join(', ')}) from position ${from}, head ${head}\n`);
      const runner = new ProjectionRunner(db, store, projection);
      await runner.init();
      const display = progressDisplay(mode, out, projection.name, from, head);
      let result: Awaited<ReturnType<ProjectionRunner['rebuild']>>;
      try {
        result = await runner.rebuild({
          fromPosition: from,
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
          onProgress: display.update,
        });
      } finally {
        display.stop();
      }
      out.write(`swapped ${projection.name} in at position ${result.position} (${result.eventsApplied} events applied); verifying against a from-scratch build…\n`);
      const expectedChecksum = await scratchChecksum(db, store, projection, result.position, options.batchSize);
      const ok = expectedChecksum === result.checksum;
      entry.rebuilt = { ...result, expectedChecksum, ok };
      out.write(`${projection.name}: rebuilt checksum ${result.checksum}, from-scratch checksum ${expectedChecksum} ${ok ? 'OK' : 'MISMATCH'}\n`);
      if (!ok) report.ok = false;
    }
  } finally {
    await store.close();
    await db.destroy();
  }
  return report;
}

export function parseArgs(argv: string[]): ReplayOptions {
  const options: ReplayOptions = { projections: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--all') options.all = true;
    else if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--from-position' || arg.startsWith('--from-position=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined || !/^\d+$/.test(value)) throw new ReplayUsageError(`--from-position needs a non-negative integer, got ${value ?? 'nothing'}`);
      options.fromPosition = Number(value);
    } else if (arg.startsWith('-')) throw new ReplayUsageError(`unknown option ${arg}`);
    else options.projections.push(arg);
  }
  return options;
}

const USAGE = 'usage: npm run replay -- <projection>... [--from-position N] [--all] [--dry-run]';

/** The CLI: returns the exit code (0 ok, 1 checksum mismatch or failure, 2 bad usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io = { out: process.stdout as NodeJS.WritableStream, err: process.stderr as NodeJS.WritableStream }): Promise<number> {
  try {
    const options = parseArgs(argv);
    selectProjections(options); // refuse unknown names before looking for a database
    const report = await replay({ ...options, databaseUrl: databaseUrlFrom(env), out: io.out });
    if (!report.ok) {
      const bad = report.projections.filter((p) => p.rebuilt && !p.rebuilt.ok).map((p) => p.projection);
      io.err.write(`replay failed: checksum mismatch for ${bad.join(', ')} (the rebuilt tables differ from a from-scratch build)\n`);
      return 1;
    }
    if (!report.dryRun) io.out.write(`replay done: ${report.projections.map((p) => p.projection).join(', ')} rebuilt and verified\n`);
    return 0;
  } catch (err) {
    if (err instanceof ReplayUsageError) {
      io.err.write(`${err.message}\n${USAGE}\n`);
      return err.exitCode;
    }
    io.err.write(`replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
