import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgresServer, provisionDatabase, type DatabaseConnection } from '@shop/platform';
import { CpuMeter, postgresGroup, readPid } from './process-cpu';
import { percentile } from './order-load';
import type { StepCriteria, StepResult } from './saga-steps';
import { STATS_SETTLE_MS, sustained } from './saga-steps';

export interface BarePipelineOptions {
  rates: readonly number[];
  seconds: number;
  /** Durable hops per order: as many as the platform's messages per order. */
  hops: number;
  /** The hop after which an order counts as terminal (the platform's order confirmation). */
  terminalHop: number;
  criteria: StepCriteria;
  log: (line: string) => void;
}

/**
 * The baseline of `bench:saga`: the same number of durable hops per order
 * through a bare Postgres pipeline (see `bare-pipeline-worker.ts`), on a
 * fresh embedded PostgreSQL with the same durability settings (fsync and
 * synchronous_commit on), driven at the same arrival rates, measured the
 * same way: the pipeline's process and its PostgreSQL backends from /proc,
 * transactions from `pg_stat_database`.
 */
export async function runBarePipeline(o: BarePipelineOptions): Promise<StepResult[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-bare-'));
  await fs.chmod(dir, 0o755);
  const server = new EmbeddedPostgresServer({ dataDir: path.join(dir, 'postgres'), log: () => undefined });
  let child: ChildProcess | undefined;
  const results: StepResult[] = [];
  try {
    const admin = await server.start();
    const conn = await provisionDatabase(admin, 'bare', 'bare-pipeline-password');
    await createTables(conn, o.hops);
    const client = new pg.Client(conn);
    await client.connect();
    const stats = new pg.Client({ ...admin, database: 'postgres' });
    await stats.connect();
    child = fork(path.join(import.meta.dirname, 'bare-pipeline-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BARE_CONNECTION: JSON.stringify(conn),
        BARE_HOPS: String(o.hops),
        BARE_TERMINAL_HOP: String(o.terminalHop),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const worker = child;
    const replies: ((m: Record<string, unknown>) => void)[] = [];
    worker.on('message', (m: Record<string, unknown>) => replies.shift()?.(m));
    const nextReply = () => new Promise<Record<string, unknown>>((r) => replies.push(r));
    await nextReply();
    const postmasterPid = readPid(path.join(server.dataDir, 'postmaster.pid'))!;
    const meter = new CpuMeter((pid, stat) => (pid === worker.pid ? 'pipeline' : postgresGroup(postmasterPid, pid, stat)));

    for (const [i, rate] of o.rates.entries()) {
      const step = i + 1;
      const xactBefore = await commits(stats, 'bare');
      meter.start();
      const sentFrom = Date.now();
      worker.send({ step, rate, seconds: o.seconds });
      const placed = (await nextReply()) as { offered: number; failures: number };
      const endedAt = Date.now();
      // Every order through every hop, or the drain limit.
      const drainUntil = endedAt + o.criteria.drainLimitMs;
      let done = 0;
      for (;;) {
        done = Number((await client.query<{ n: string }>('select count(*) as n from bare_done where step = $1', [step])).rows[0]!.n);
        if (done >= placed.offered - placed.failures || Date.now() > drainUntil) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // A backend reports its transaction counts to pg_stat_database at most once a
      // second, and an idle one a little later: let every count arrive.
      await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
      const cpu = meter.stop();
      const xactAfter = await commits(stats, 'bare');
      const terminals = (
        await client.query<{ ms: number; terminal_at_ms: number }>(
          `select extract(epoch from terminal_at - placed_at) * 1000 as ms, extract(epoch from terminal_at) * 1000 as terminal_at_ms
           from bare_terminals where step = $1`,
          [step],
        )
      ).rows;
      const latencies = terminals.map((t) => Number(t.ms)).sort((a, b) => a - b);
      const accepted = placed.offered - placed.failures;
      const withinDeadline = terminals.filter((t) => Number(t.terminal_at_ms) <= endedAt + o.criteria.terminalWithinMs).length;
      const result: StepResult = {
        system: 'bare-postgres-pipeline',
        step,
        offeredRate: rate,
        acceptedRate: accepted / o.seconds,
        offered: placed.offered,
        accepted,
        failed: placed.failures,
        terminal: terminals.length,
        terminalWithinDeadline: withinDeadline,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        p99Ms: percentile(latencies, 99),
        cpuMsPerOrder: perOrder(cpu.byGroup, cpu.totalMs, accepted),
        transactionsPerOrder: { total: round((xactAfter - xactBefore) / Math.max(1, accepted)), byDatabase: { bare: round((xactAfter - xactBefore) / Math.max(1, accepted)) } },
        messagesPerOrder: o.hops,
        windowSeconds: round((Date.now() - sentFrom) / 1000),
        sustained: false,
      };
      result.sustained = sustained(result, o.criteria);
      results.push(result);
      o.log(JSON.stringify(result));
      if (!result.sustained) break;
    }
    worker.send({ stop: true });
    await client.end();
    await stats.end();
  } finally {
    child?.kill('SIGKILL');
    await server.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
  return results;
}

async function createTables(conn: DatabaseConnection, hops: number): Promise<void> {
  const client = new pg.Client(conn);
  await client.connect();
  const ddl: string[] = [];
  for (let hop = 1; hop <= hops; hop++) {
    ddl.push(`create table bare_hop_${hop} (order_id uuid primary key, step int not null, placed_at timestamptz not null, terminal_at timestamptz, payload jsonb not null)`);
  }
  ddl.push('create table bare_done (order_id uuid primary key, step int not null, placed_at timestamptz not null, terminal_at timestamptz, payload jsonb not null)');
  ddl.push('create index on bare_done (step)');
  ddl.push('create table bare_terminals (order_id uuid primary key, step int not null, placed_at timestamptz not null, terminal_at timestamptz not null)');
  ddl.push('create index on bare_terminals (step)');
  await client.query(ddl.join(';\n'));
  await client.end();
}

/** Committed transactions of a database so far (`pg_stat_database.xact_commit`). */
export async function commits(stats: pg.Client, database: string): Promise<number> {
  const res = await stats.query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = $1', [database]);
  return Number(res.rows[0]?.n ?? 0);
}

const round = (n: number) => Math.round(n * 100) / 100;

export function perOrder(byGroup: Record<string, number>, totalMs: number, orders: number): { total: number; byProcess: Record<string, number> } {
  const n = Math.max(1, orders);
  return {
    total: round(totalMs / n),
    byProcess: Object.fromEntries(
      Object.entries(byGroup)
        .sort((a, b) => b[1] - a[1])
        .map(([g, ms]) => [g, round(ms / n)]),
    ),
  };
}
