import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { EmbeddedPostgresServer, createKnex, eventStoreMigrations, freePort, provisionDatabase, runMigrations, type DatabaseConnection } from '@shop/platform';
import { CpuMeter, postgresGroup, readPid } from '../process-cpu';
import { openLoop, percentile } from '../order-load';
import { commits, perOrder } from '../bare-pipeline';
import { STATS_SETTLE_MS, sustained, type StepCriteria, type StepResult } from '../saga-steps';
import { TERMINAL_EVENT_TYPES, orderStream, type PlaceOrderInput } from './place-order-activities';
import type { placeOrder } from './place-order-workflow';

/**
 * Where the dev server keeps its state: `disk`, a SQLite file with SQLite's
 * defaults (rollback journal, synchronous=FULL: fsync on every commit);
 * `disk-wal`, the same file in WAL mode, still synchronous=FULL (what a user
 * tuning the dev server for speed without giving up durability would try);
 * `memory`, nothing on disk (a crash loses every workflow).
 */
export type TemporalPersistence = 'disk' | 'disk-wal' | 'memory';
export const TEMPORAL_PERSISTENCE: readonly TemporalPersistence[] = ['disk', 'disk-wal', 'memory'];

export interface TemporalPeerOptions {
  /** The Temporal CLI binary (see `temporal-cli.ts`). */
  cli: string;
  persistence: TemporalPersistence;
  rates: readonly number[];
  seconds: number;
  criteria: StepCriteria;
  /** Share of orders paid with `tok_decline` (compensated), as in the platform's run. */
  declineShare: number;
  skus: readonly string[];
  keepGoing: boolean;
  /** Unmeasured warm-up at 10 workflows/s before the steps, as the platform gets (10 s unless given). */
  warmupSeconds?: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Each measured step, as it ends. */
  emit: (result: StepResult) => void;
}

const TASK_QUEUE = 'place-order';
const round = (n: number) => Math.round(n * 100) / 100;
const roundOrNull = (n: number | null) => (n === null ? null : round(n));

/**
 * The peer of `bench:saga --peer temporal`: the platform's place-order saga
 * as a Temporal workflow (`place-order-workflow.ts`) on the Temporal CLI's
 * dev server, with one worker process whose activities append to the
 * platform's Postgres event store on a fresh embedded PostgreSQL (fsync and
 * synchronous_commit on, as the platform's). Workflows are started open-loop
 * at the platform's arrival rates, one step per rate; an order is terminal
 * when its `OrderConfirmed` or `OrderRejected` event commits (the analogue
 * of the order service's status history). Measured as the platform is: CPU
 * of the Temporal server, the worker and PostgreSQL from /proc (the driver
 * starting workflows, like the platform's HTTP load generator, is not
 * counted), transactions from `pg_stat_database`.
 */
export async function runTemporalPeer(o: TemporalPeerOptions): Promise<StepResult[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-temporal-'));
  await fs.chmod(dir, 0o755);
  const socketDir = path.join(dir, 's');
  const postgres = new EmbeddedPostgresServer({ dataDir: path.join(dir, 'postgres'), socketDir, log: () => undefined });
  let server: TemporalDevServer | undefined;
  let worker: ChildProcess | undefined;
  const results: StepResult[] = [];
  try {
    const admin = await postgres.start();
    const conn = await provisionDatabase(admin, 'peer', 'temporal-peer-password');
    const knex = createKnex(conn);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    await knex.destroy();
    // The worker reaches PostgreSQL through its Unix socket, as the platform's services do.
    const workerConn: DatabaseConnection = { ...conn, host: socketDir };
    const db = new pg.Client(conn);
    await db.connect();
    const stats = new pg.Client({ ...admin, database: 'postgres' });
    await stats.connect();

    o.log(`temporal peer (${o.persistence}): starting the dev server...`);
    server = await startTemporalDevServer(o.cli, o.persistence, dir);
    const { address, connection } = server;
    const client = new Client({ connection, namespace: 'default' });

    o.log('temporal peer: starting the worker (bundling the workflow)...');
    worker = fork(path.join(import.meta.dirname, 'temporal-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PEER_DATABASE: JSON.stringify(workerConn), TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: TASK_QUEUE },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await readyOrExit(worker);

    const serverPid = server.pid;
    const workerPid = worker.pid!;
    const postmasterPid = readPid(path.join(postgres.dataDir, 'postmaster.pid'))!;
    const meter = new CpuMeter((pid, stat) => {
      if (pid === serverPid || stat.ppid === serverPid) return 'temporal-server';
      if (pid === workerPid || stat.ppid === workerPid) return 'temporal-worker';
      return postgresGroup(postmasterPid, pid, stat);
    });

    const system = `temporal-dev-server-${o.persistence}`;
    // Warm-up, as the platform gets: 10 s at 10 workflows/s, not measured.
    if ((o.warmupSeconds ?? 10) > 0) await runStep(0, 10, o.warmupSeconds ?? 10);
    for (const [i, rate] of o.rates.entries()) {
      o.log(`temporal peer (${o.persistence}) step ${i + 1}: ${rate} workflows/s for ${o.seconds} s`);
      const result = await runStep(i + 1, rate, o.seconds);
      results.push(result);
      if (!result.sustained && !o.keepGoing) break;
    }

    async function runStep(step: number, rate: number, seconds: number): Promise<StepResult> {
      const head = Number((await db.query<{ p: string }>('select coalesce(max(global_position), 0) as p from es_events')).rows[0]!.p);
      const xactBefore = await commits(stats, 'peer');
      meter.start();
      const clientStart = process.cpuUsage();
      const sentAt = new Map<string, number>();
      const startMs: number[] = [];
      const failures: string[] = [];
      const loop = await openLoop(rate, seconds, async (i) => {
        const input: PlaceOrderInput = {
          orderId: randomUUID(),
          sku: o.skus[Math.floor(Math.random() * o.skus.length)]!,
          quantity: 1,
          paymentToken: o.declineShare > 0 && i % Math.round(1 / o.declineShare) === 0 ? 'tok_decline' : 'tok_approve',
        };
        const at = Date.now();
        const t = performance.now();
        try {
          await client.workflow.start<typeof placeOrder>('placeOrder', { taskQueue: TASK_QUEUE, workflowId: `order-${input.orderId}`, args: [input] });
          sentAt.set(orderStream(input.orderId), at);
          startMs.push(performance.now() - t);
        } catch (err) {
          failures.push((err as Error).message);
        }
      });
      const accepted = sentAt.size;
      // Drain: every started workflow's terminal event committed, or the drain limit.
      const drainUntil = loop.endedAt + o.criteria.drainLimitMs;
      let terminals: { stream_id: string; type: string; at: number }[];
      for (;;) {
        terminals = (
          await db.query<{ stream_id: string; type: string; at: number }>(
            `select stream_id, type, extract(epoch from recorded_at) * 1000 as at from es_events
             where global_position > $1 and type = any($2)`,
            [head, TERMINAL_EVENT_TYPES],
          )
        ).rows.filter((r) => sentAt.has(r.stream_id));
        if (terminals.length >= accepted || Date.now() > drainUntil) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
      const cpu = meter.stop();
      const clientCpu = process.cpuUsage(clientStart);
      const xactAfter = await commits(stats, 'peer');
      const latencies = terminals.map((t) => Math.max(0, Number(t.at) - sentAt.get(t.stream_id)!)).sort((a, b) => a - b);
      const statuses: Record<string, number> = {};
      for (const t of terminals) {
        const status = t.type === 'OrderConfirmed' ? 'confirmed' : 'rejected';
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      const tx = round((xactAfter - xactBefore) / Math.max(1, accepted));
      startMs.sort((a, b) => a - b);
      const result: StepResult = {
        system,
        step,
        offeredRate: rate,
        acceptedRate: round(accepted / seconds),
        offered: loop.offered,
        accepted,
        failed: failures.length,
        terminal: terminals.length,
        terminalWithinDeadline: terminals.filter((t) => Number(t.at) <= loop.endedAt + o.criteria.terminalWithinMs).length,
        p50Ms: roundOrNull(percentile(latencies, 50)),
        p95Ms: roundOrNull(percentile(latencies, 95)),
        p99Ms: roundOrNull(percentile(latencies, 99)),
        /** The workflow start call's p99 (the analogue of the platform's POST). */
        postP99Ms: round(percentile(startMs, 99) ?? 0),
        statuses,
        cpuMsPerOrder: perOrder(cpu.byGroup, cpu.totalMs, accepted),
        cpuCoresBusy: round(cpu.totalMs / cpu.wallMs),
        clientCpuCores: round((clientCpu.user + clientCpu.system) / 1000 / cpu.wallMs),
        transactionsPerOrder: { total: tx, byDatabase: { peer: tx } },
        messagesPerOrder: 0,
        windowSeconds: round(cpu.wallMs / 1000),
        sustained: false,
        ...(failures.length > 0 ? { firstFailures: failures.slice(0, 3) } : {}),
      };
      result.sustained = sustained(result, o.criteria);
      if (step > 0) o.emit(result);
      return result;
    }
    await db.end();
    await stats.end();
  } finally {
    if (worker && worker.exitCode === null) {
      worker.send({ stop: true });
      await exitOrKill(worker, 10_000);
    }
    await server?.stop();
    await postgres.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
  return results;
}

export interface TemporalDevServer {
  /** host:port of its frontend (gRPC). */
  address: string;
  /** A client connection to it. */
  connection: Connection;
  pid: number;
  /** Closes the connection and stops the server (SIGTERM to its process group, then SIGKILL). */
  stop(): Promise<void>;
}

/**
 * The Temporal CLI's dev server on free ports of 127.0.0.1, headless, with
 * its state in `<dir>/temporal.db` (SQLite, fsync on commit) or in memory
 * (see `TemporalPersistence`);
 * resolves once its `default` namespace answers.
 */
export async function startTemporalDevServer(cli: string, persistence: TemporalPersistence, dir: string): Promise<TemporalDevServer> {
  const port = await freePort();
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--http-port', String(await freePort()), '--metrics-port', String(await freePort()), '--log-level', 'error'];
  if (persistence !== 'memory') args.push('--db-filename', path.join(dir, 'temporal.db'));
  if (persistence === 'disk-wal') args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=full');
  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      await exitOrKill(child, 10_000, -child.pid);
    }
  };
  try {
    const connection = await connectWhenUp(address, child);
    return {
      address,
      connection,
      pid: child.pid!,
      async stop() {
        await connection.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A client connection once the dev server answers (its first start creates the namespace: a few seconds). */
async function connectWhenUp(address: string, server: ChildProcess): Promise<Connection> {
  const until = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${server.exitCode}`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      return connection;
    } catch (err) {
      await connection?.close().catch(() => undefined);
      if (Date.now() > until) throw new Error(`the Temporal dev server at ${address} did not come up in 60 s`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function readyOrExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the Temporal worker exited with code ${code} before it was ready`)));
  });
}

async function exitOrKill(child: ChildProcess, ms: number, target: number = child.pid!): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<boolean>((r) => child.once('exit', () => r(true)));
  if (!(await Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(false), ms))]))) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}
