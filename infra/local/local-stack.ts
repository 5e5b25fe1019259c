import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signToken, waitFor } from '@shop/platform';
import { KafkaBroker } from '../kafka/kafka-broker';
import type { StockLevels } from '../k6/lib/invariants';
import { serviceEntry, type StackBus, type StackFile } from './stack';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

export interface OrderView {
  orderId: string;
  status: string;
  statusHistory: { status: string; at: string; reason?: string }[];
}

/** A SKU's levels as the inventory answers them (GET /v1/stock/{sku}). */
export type { StockLevels } from '../k6/lib/invariants';

/** Every stack started by this test process, ready or not, so none outlives it. */
const started = new Set<LocalStack>();
/** Stopped stacks whose temporary data is removed by `stopAllStacks`. */
const stopped = new Set<LocalStack>();

/**
 * Stacks use the services' fixed ports and a whole machine's worth of CPU, so
 * test files that start one take turns, across vitest workers: a lock
 * directory holding the owner's pid (a dead owner's lock is taken over).
 */
const LOCK_DIR = path.join(os.tmpdir(), 'shop-platform-stack-tests.lock');
let lockHeld = false;

async function acquireStackLock(): Promise<void> {
  if (lockHeld) return;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      await fs.mkdir(LOCK_DIR);
      await fs.writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
      lockHeld = true;
      return;
    } catch {
      const owner = Number(await fs.readFile(path.join(LOCK_DIR, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !pidAlive(owner)) await fs.rm(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('waited 15 minutes for another test\'s local stack');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every stack this test process started and lets other test files have their turn (for afterAll). */
export async function stopAllStacks(): Promise<void> {
  const stacks = [...started, ...stopped];
  await Promise.all([...started].map((s) => s.stop()));
  for (const s of stacks) await s.removeData();
  stopped.clear();
  if (lockHeld) {
    lockHeld = false;
    await fs.rm(LOCK_DIR, { recursive: true, force: true });
  }
}

/**
 * On EventStoreDB, the stream prefix of the stack in `dataDir`, ahead of the
 * launcher's per-service one: every stack of a run shares the one server, and
 * a fresh data directory (a fresh Postgres) must not meet an earlier stack's
 * streams, while a restart on the same directory finds its own again.
 */
function stackStreamPrefix(dataDir: string): Record<string, string> {
  if (process.env.EVENT_STORE !== 'eventstoredb') return {};
  const stack = createHash('sha256').update(dataDir).digest('hex').slice(0, 8);
  return { EVENTSTORE_STREAM_PREFIX: `${process.env.EVENTSTORE_STREAM_PREFIX ?? ''}stack-${stack}.` };
}

/**
 * The local stack started exactly as `npm start` starts it (infra/local/start.ts
 * in its own process group), with helpers to drive it through the services'
 * public HTTP APIs only.
 */
export class LocalStack {
  private output = '';
  readonly pgid: number;
  private readonly exited: Promise<number | null>;
  stack!: StackFile;
  private auth!: { secret: string; issuer: string; audience: string };

  /** A temporary directory this harness created for the stack, removed when it stops. */
  private ownedDir: string | undefined;
  /** The broker `startBroker()` started in place of the launcher's, stopped with the stack. */
  private broker: KafkaBroker | undefined;

  private constructor(
    readonly dataDir: string,
    args: string[],
    env: Record<string, string>,
  ) {
    const child = spawn(tsx, ['infra/local/start.ts', '--data-dir', dataDir, ...args], {
      cwd: repoRoot,
      detached: true,
      env: { ...process.env, LOG_LEVEL: 'warn', ...stackStreamPrefix(dataDir), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    this.pgid = child.pid!;
  }

  /**
   * Starts a stack in `dataDir` (a fresh temporary one by default) and waits
   * until it is ready; `bus: 'kafka'` runs it as `npm start -- --bus kafka`.
   * `takeTurns: false` skips the stack-test lock (a stack started by hand,
   * such as `npm run chaos`'s, runs beside the tests on free ports).
   */
  static async start(
    options: { dataDir?: string; args?: string[]; env?: Record<string, string>; bus?: StackBus['kind']; takeTurns?: boolean } = {},
  ): Promise<LocalStack> {
    if (options.takeTurns ?? true) await acquireStackLock();
    let dataDir = options.dataDir;
    if (!dataDir) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-stack-'));
      await fs.chmod(dir, 0o755); // reachable by the postgres user when tests run as root
      dataDir = path.join(dir, 'state');
    }
    const args = [...(options.bus === 'kafka' ? ['--bus', 'kafka'] : []), ...(options.args ?? [])];
    const stack = new LocalStack(dataDir, args, options.env ?? {});
    if (!options.dataDir) stack.ownedDir = path.dirname(dataDir);
    started.add(stack);
    await waitFor(() => stack.output.includes('ready. Ctrl-C stops everything.'), 120_000).catch((err: unknown) => {
      throw new Error(`stack did not start: ${(err as Error).message}\n${stack.output}`);
    });
    stack.stack = JSON.parse(await fs.readFile(path.join(dataDir, 'stack.json'), 'utf8')) as StackFile;
    const credentials = JSON.parse(await fs.readFile(path.join(dataDir, 'credentials.json'), 'utf8')) as { authJwtSecret: string };
    stack.auth = { secret: credentials.authJwtSecret, issuer: 'urn:shop:auth', audience: 'urn:shop:api' };
    return stack;
  }

  log(): string {
    return this.output;
  }

  url(service: string): string {
    const url = this.stack.services?.[service];
    if (!url) throw new Error(`${service} is not running in this stack`);
    return url;
  }

  token(role: 'admin' | 'customer', sub = role === 'admin' ? 'admin' : `customer-${randomUUID().slice(0, 8)}`, ttl = '1h'): Promise<string> {
    return signToken({ sub, roles: [role], ttl }, this.auth);
  }

  async request<T>(service: string, method: string, route: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.url(service)}${route}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async placeOrder(token: string, lines: { sku: string; quantity: number }[], paymentToken: string): Promise<string> {
    const res = await this.request<{ orderId: string }>('order-service', 'POST', '/v1/orders', token, { lines, paymentToken }, {
      'idempotency-key': randomUUID(),
    });
    if (res.status !== 202) throw new Error(`placing an order: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.orderId;
  }

  async order(token: string, orderId: string): Promise<OrderView> {
    const res = await this.request<OrderView>('order-service', 'GET', `/v1/orders/${orderId}`, token);
    if (res.status !== 200) throw new Error(`reading order ${orderId}: ${res.status}`);
    return res.body;
  }

  async waitForOrder(token: string, orderId: string, statuses: string[], timeoutMs = 30_000): Promise<OrderView> {
    let last: OrderView | undefined;
    await waitFor(async () => {
      last = await this.order(token, orderId);
      return statuses.includes(last.status);
    }, timeoutMs).catch((err: unknown) => {
      throw new Error(`order ${orderId} is ${last?.status}, not ${statuses.join('|')}: ${(err as Error).message}`);
    });
    return last!;
  }

  async stock(sku: string): Promise<StockLevels> {
    return (await this.request<StockLevels>('inventory-service', 'GET', `/v1/stock/${sku}`)).body;
  }

  async products(query = 'limit=100'): Promise<{ sku: string; price: { amount: number } }[]> {
    return (await this.request<{ items: { sku: string; price: { amount: number } }[] }>('catalog-service', 'GET', `/v1/products?${query}`)).body.items;
  }

  /** The pid of this stack's process running `service`: its entry point, with this stack's bus in its environment. */
  servicePid(service: string): number | undefined {
    const entry = serviceEntry(service);
    const bus = `BUS_DATABASE_URL=${this.stack.databases.bus!.socketUrl ?? this.stack.databases.bus!.url}`;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(entry)) continue;
        if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(bus)) return Number(name);
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  }

  /**
   * SIGKILLs a service and waits until the supervisor has it listening again.
   * A service still being restarted after an earlier crash is waited for
   * first (ready again), so crashes asked for in quick succession all land.
   */
  async crash(service: string, timeoutMs = 60_000): Promise<void> {
    await this.crashing.get(service);
    let pid = this.servicePid(service);
    if (!pid) {
      await waitFor(() => this.servicePid(service) !== undefined, timeoutMs).catch(() => undefined);
      pid = this.servicePid(service);
    }
    if (!pid) throw new Error(`${service} is not running`);
    const done = this.crashPid(service, pid, timeoutMs);
    this.crashing.set(service, done.catch(() => undefined));
    return done;
  }

  private readonly crashing = new Map<string, Promise<void>>();

  private async crashPid(service: string, pid: number, timeoutMs: number): Promise<void> {
    const crashes = this.output.split(`${service} crashed`).length;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => this.output.split(`${service} crashed`).length > crashes, 10_000).catch((err: unknown) => {
      throw new Error(`${service} (pid ${pid}) was killed but no crash was reported: ${(err as Error).message}\n${this.output.slice(-3000)}`);
    });
    await waitFor(async () => {
      const next = this.servicePid(service);
      if (!next || next === pid) return false;
      const res = await fetch(`${this.url(service)}/readyz`).catch(() => undefined);
      return res?.status === 200;
    }, timeoutMs);
  }

  /**
   * A database outage: SIGUSR2 to the launcher, which restarts the embedded
   * PostgreSQL in place (immediate shutdown); resolves once it accepts
   * connections again, with how long that took.
   */
  async restartPostgres(timeoutMs = 60_000): Promise<number> {
    const pid = this.stack.launcher?.pid;
    if (!pid) throw new Error('this stack\'s stack.json names no launcher pid');
    const began = Date.now();
    const restarts = this.output.split('PostgreSQL restarted').length;
    process.kill(pid, 'SIGUSR2');
    await waitFor(() => this.output.split('PostgreSQL restarted').length > restarts || this.output.includes('PostgreSQL restart failed'), timeoutMs);
    if (this.output.split('PostgreSQL restarted').length <= restarts) throw new Error(`PostgreSQL did not restart:\n${this.output.slice(-2000)}`);
    return Date.now() - began;
  }

  /** Whether every service of the stack answers /readyz with 200. */
  async allReady(): Promise<boolean> {
    const answers = await Promise.all(
      Object.values(this.stack.services ?? {}).map((url) => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false)),
    );
    return answers.every(Boolean);
  }

  groupAlive(): boolean {
    return pidAlive(-this.pgid);
  }

  /** The stack's Kafka broker (`--bus kafka` only). */
  kafka(): Extract<StackBus, { kind: 'kafka' }> {
    const bus = this.stack.bus;
    if (bus?.kind !== 'kafka') throw new Error('this stack does not run on Kafka (start it with bus: "kafka")');
    return bus;
  }

  /**
   * A broker outage: SIGTERM to the stack's Kafka broker (whichever process
   * runs it: the launcher's, or one `startBroker()` started), then waits until
   * it has exited and the launcher has reported it.
   */
  async stopBroker(timeoutMs = 40_000): Promise<void> {
    const { dataDir } = this.kafka();
    if (this.broker?.isRunning) {
      await this.broker.stop();
      return;
    }
    const pid = Number((await fs.readFile(path.join(dataDir, 'broker.pid'), 'utf8').catch(() => '')).trim());
    if (!pid || !pidAlive(pid)) throw new Error(`no Kafka broker runs on ${dataDir}`);
    const reported = this.output.split('the Kafka broker exited').length;
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !pidAlive(pid), timeoutMs).catch(() => process.kill(pid, 'SIGKILL'));
    await waitFor(() => this.output.split('the Kafka broker exited').length > reported, 10_000);
  }

  /** Brings the broker back on the same data directory and ports (after `stopBroker()`); resolves once it is ready. */
  async startBroker(): Promise<void> {
    const { dataDir, port, controllerPort } = this.kafka();
    this.broker ??= new KafkaBroker({ dataDir, port, controllerPort });
    await this.broker.start();
  }

  /** Ctrl-C: SIGINT to the whole process group; resolves with the launcher's exit code once nothing is left. */
  async stop(): Promise<number | null> {
    started.delete(this);
    stopped.add(this);
    let code: number | null;
    if (this.groupAlive()) {
      process.kill(-this.pgid, 'SIGINT');
      code = await this.exited;
      await waitFor(() => !this.groupAlive(), 20_000);
    } else {
      code = await this.exited;
    }
    await this.broker?.stop();
    return code;
  }

  /** Removes the temporary directory the harness created, once no stack uses it. */
  async removeData(): Promise<void> {
    if (this.ownedDir) await fs.rm(this.ownedDir, { recursive: true, force: true });
  }
}
