/**
 * The chaos soak: a local stack (as `npm start` runs it) under a steady flow
 * of orders while its processes are killed, its database restarted and (on
 * Kafka) its broker stopped; then, once it is quiet again, every effect is
 * counted and the auditor run.
 *
 * What it injects, while the orders flow:
 * - SIGKILL to a service every few seconds, drawn from a shuffled bag in
 *   which the coordinator and inventory come up most (their crashes land in
 *   the middle of sagas and reservations); the supervisor restarts it;
 * - one restart of the embedded PostgreSQL (immediate shutdown) halfway,
 *   which every service must ride out by reconnecting;
 * - on Kafka, one broker stop (for `brokerOutageSeconds`) and start.
 *
 * What it counts, from the client's side and the services' admin reads:
 * accepted orders (202), lost ones (accepted, never terminal), oversold
 * units, stuck sagas, duplicate effects (a retried key answered with
 * another order, a customer with two orders for one key, a status reached
 * twice, units sold beyond the confirmed orders, stock received twice for
 * one receipt), and the auditor's violations.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '@shop/platform';
import { auditChecks, type AuditSnapshot, type Violation } from '../audit/audit-checks';
import { collectSnapshot, type AuditTargets } from '../audit/audit-snapshot';
import { isTerminalOrder, type StockLevels } from '../k6/lib/invariants';
import { LocalStack } from '../local/local-stack';
import type { StackBus } from '../local/stack';

export interface ChaosOptions {
  bus: StackBus['kind'];
  orders: number;
  /** Over how long the orders are spread (a steady rate); kills and outages happen meanwhile. */
  minutes: number;
  /** Seconds between two kills (each waits for nothing: kills of different services may overlap). Default 4. */
  killEverySeconds?: number;
  /** How long the broker stays down on Kafka. Default 20. */
  brokerOutageSeconds?: number;
  /** How long to wait after the last order for every order to end and the audit to come out clean. Default 300. */
  quiescenceTimeoutSeconds?: number;
  /** Take turns with the stack tests (their lock); a run by hand does not. */
  takeTurns?: boolean;
  /** The stack's `--port-base` (services on N+1..N+5, Kafka on N+92). Default 4100: apart from other stacks, which prefer 4001..4005 and 9092. */
  portBase?: number;
  /** Extra environment for the stack (the services inherit it). */
  env?: Record<string, string>;
  /** Seed of the order mix and of the kill order. */
  seed?: number;
  /** Aborting stops placing orders early; the run then waits for quiescence and audits as usual. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ChaosFigures {
  bus: StackBus['kind'];
  ordersRequested: number;
  ordersAccepted: number;
  /** Orders that never got a 202 after retrying for `PLACE_RETRY_MS` (not a loss: the client was told no). */
  ordersRefused: number;
  confirmed: number;
  rejected: number;
  cancelled: number;
  cancellationsRequested: number;
  /** Why orders were rejected, the five most frequent reasons (digits folded), with counts. */
  rejectionReasons: Record<string, number>;
  lost: number;
  oversoldUnits: number;
  stuckSagas: number;
  duplicateEffects: number;
  duplicatesByKind: Record<string, number>;
  auditViolations: number;
  auditByCheck: Record<string, number>;
  kills: Record<string, number>;
  killsTotal: number;
  /** Crashes the supervisor reported beyond the kills (a service that died by itself, e.g. on the database restart). */
  unexpectedCrashes: Record<string, number>;
  /** From a SIGKILL until the restarted service answered /readyz: median and max. */
  restartSeconds: { median: number; max: number };
  pgRestarts: number;
  /** From asking PostgreSQL to restart until every service answered /readyz again. */
  pgRecoverySeconds: number[];
  brokerStops: number;
  driveSeconds: number;
  ordersPerSecond: number;
  /** From the last order placed (the end of the faults) until every order was terminal and the audit clean. */
  quiescenceSeconds: number | null;
  startedAt: string;
}

const SERVICES = ['catalog-service', 'inventory-service', 'order-service', 'coordinator-service', 'analytics-service'] as const;
/** One round of kills: the coordinator and inventory most, every service at least twice. */
const KILL_BAG: readonly string[] = [
  ...Array<string>(3).fill('coordinator-service'),
  ...Array<string>(3).fill('inventory-service'),
  ...Array<string>(2).fill('order-service'),
  ...Array<string>(2).fill('catalog-service'),
  ...Array<string>(2).fill('analytics-service'),
];
/** A client keeps retrying a placement (same Idempotency-Key) this long: past the idempotency claim's 60 s staleness. */
const PLACE_RETRY_MS = 180_000;
/** Placements in flight at most; beyond, the driver waits (and the achieved rate drops below the asked one). */
const MAX_IN_FLIGHT = 64;


const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
};

function topReasons(orders: AuditSnapshot['orders']): Record<string, number> {
  const reasons = new Map<string, number>();
  for (const o of orders) {
    if (o.status !== 'rejected') continue;
    const reason = (o.statusHistory.findLast((h) => h.status === 'rejected')?.reason ?? 'none').replace(/[0-9][0-9.,]*/g, 'N').slice(0, 80);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Placement {
  key: string;
  customer: string;
  token: string;
  lines: { sku: string; quantity: number }[];
  /** Every order id a 202 named for this key: more than one is a duplicate. */
  orderIds: Set<string>;
}

/** POST with retries on what a crash or an outage looks like (no answer, 5xx, 409 in progress, 429); the last answer. */
async function postWithRetry(url: string, token: string, body: unknown, key: string | undefined, retryMs: number): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + retryMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    let status: number;
    let parsed: unknown;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      const text = await res.text();
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      status = 0;
    }
    const retryable = status === 0 || status >= 500 || status === 409 || status === 429;
    // A cancellation's 409 is an answer (the order had already ended), not a claim in progress.
    if (!retryable || (key === undefined && status === 409) || Date.now() > deadline) return { status, body: parsed };
    await sleep(delay);
  }
}

export async function runChaosSoak(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? (() => undefined);
  const rand = seededRandom(options.seed ?? Date.now());
  const startedAt = new Date().toISOString();
  const runId = randomUUID().slice(0, 8);
  const killEveryMs = (options.killEverySeconds ?? 4) * 1000;
  const driveMs = options.minutes * 60_000;

  log(`starting the stack (${options.bus} bus)...`);
  const stack = await LocalStack.start({
    bus: options.bus,
    args: ['--port-base', String(options.portBase ?? 4100)],
    takeTurns: options.takeTurns ?? true,
    ...(options.env ? { env: options.env } : {}),
  });
  let keepLogs = true;
  try {
    const figures = await soak();
    keepLogs = Object.keys(chaosFailures(figures)).length > 0 || Object.keys(figures.unexpectedCrashes).length > 0;
    return figures;
  } finally {
    log('stopping the stack...');
    await stack.stop();
    if (keepLogs) {
      // What a failed run leaves to read: every service's log (each restart appends to it) and the launcher's output.
      const kept = path.join(os.tmpdir(), `shop-chaos-logs-${runId}`);
      await fs.cp(path.join(stack.dataDir, 'logs'), kept, { recursive: true }).catch(() => undefined);
      await fs.writeFile(path.join(kept, 'launcher.log'), stack.log()).catch(() => undefined);
      log(`the services' logs are kept in ${kept}`);
    }
    await stack.removeData();
  }

  async function soak(): Promise<ChaosFigures> {
    const admin = await stack.token('admin', 'chaos', '12h');
    const skus = (await stack.products()).map((p) => p.sku).sort();
    const before = new Map(await Promise.all(skus.map(async (sku) => [sku, await stack.stock(sku)] as const)));
    const hot = skus.slice(0, 8);

    // Restocking: 85% of the units ordered come back in receipts, so some
    // orders run short (rejected) all along and the stock never runs dry.
    const demand = new Map<string, number>();
    const receivedByUs = new Map<string, number>();
    let receiptSeq = 0;
    const restock = async () => {
      for (const [sku, units] of [...demand]) {
        const quantity = Math.floor(units * 0.85);
        if (quantity < 1) continue;
        demand.set(sku, units - quantity / 0.85);
        const key = `chaos-${runId}-receipt-${receiptSeq++}`;
        const res = await postWithRetry(`${stack.url('inventory-service')}/v1/stock/${sku}/receipts`, admin, { quantity }, key, 600_000);
        if (res.status !== 200) throw new Error(`receiving ${quantity} of ${sku} (key ${key}): ${res.status} ${JSON.stringify(res.body)}`);
        receivedByUs.set(sku, (receivedByUs.get(sku) ?? 0) + quantity);
      }
    };

    const placements: Placement[] = [];
    const accepted = new Map<string, Placement>();
    let refused = 0;
    let cancellations = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    /** A placement or a receipt that threw (not a refusal: a broken run); the run stops placing and fails. */
    const fatal: Error[] = [];
    const track = (p: Promise<void>) => {
      const tracked = p.catch((err: unknown) => void fatal.push(err as Error));
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    };
    const placeOne = async (i: number) => {
      const customer = `chaos-${runId}-${i}`;
      const lineCount = rand() < 0.3 ? 2 : 1;
      const lines: { sku: string; quantity: number }[] = [];
      for (let l = 0; l < lineCount; l++) {
        const pool = rand() < 0.5 ? hot : skus;
        const sku = pool[Math.floor(rand() * pool.length)]!;
        if (!lines.some((x) => x.sku === sku)) lines.push({ sku, quantity: 1 + Math.floor(rand() * 3) });
      }
      const paymentToken = rand() < 0.1 ? 'tok_decline' : 'tok_approve';
      const cancelLater = rand() < 0.05;
      const p: Placement = { key: `chaos-${runId}-order-${i}`, customer, token: await stack.token('customer', customer, '12h'), lines, orderIds: new Set() };
      placements.push(p);
      const res = await postWithRetry(`${stack.url('order-service')}/v1/orders`, p.token, { lines, paymentToken }, p.key, PLACE_RETRY_MS);
      if (res.status !== 202) {
        refused++;
        log(`order ${p.key} refused: ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`);
        return;
      }
      p.orderIds.add((res.body as { orderId: string }).orderId);
      accepted.set(p.key, p);
      for (const l of lines) demand.set(l.sku, (demand.get(l.sku) ?? 0) + l.quantity);
      // A client retry after the answer: the same key must name the same order.
      if (i % 50 === 0) {
        const again = await postWithRetry(`${stack.url('order-service')}/v1/orders`, p.token, { lines, paymentToken }, p.key, PLACE_RETRY_MS);
        if (again.status === 202) p.orderIds.add((again.body as { orderId: string }).orderId);
      }
      if (cancelLater) {
        await sleep(500 + rand() * 3_000);
        const orderId = [...p.orderIds][0]!;
        const c = await postWithRetry(`${stack.url('order-service')}/v1/orders/${orderId}/cancel`, p.token, {}, undefined, PLACE_RETRY_MS);
        if (c.status === 202) cancellations++;
      }
    };

    // Faults, on their own timeline while the orders flow.
    const kills: Record<string, number> = Object.fromEntries(SERVICES.map((s) => [s, 0]));
    const killErrors: string[] = [];
    const crashes = new Set<Promise<void>>();
    const restartSeconds: number[] = [];
    let faultsPaused = false;
    let driving = true;
    const pgRecoverySeconds: number[] = [];
    let brokerStops = 0;
    let bag: string[] = [];
    const killer = (async () => {
      while (driving) {
        await sleep(killEveryMs * (0.5 + rand()));
        if (!driving) break;
        if (faultsPaused) continue;
        if (bag.length === 0) bag = [...KILL_BAG].sort(() => rand() - 0.5);
        const service = bag.pop()!;
        kills[service]!++;
        const killedAt = Date.now();
        const crash = stack.crash(service, 120_000).then(() => void restartSeconds.push((Date.now() - killedAt) / 1000)).catch((err: unknown) => void killErrors.push(`${service}: ${(err as Error).message.slice(0, 300)}`));
        crashes.add(crash);
        void crash.finally(() => crashes.delete(crash));
      }
    })();
    /** Lets the kills in progress finish (services back and ready), holds new ones, runs `fault`, waits until every service is ready. */
    const quietly = async (fault: () => Promise<void>): Promise<number> => {
      faultsPaused = true;
      await Promise.all([...crashes]);
      const began = Date.now();
      await fault();
      const deadline = Date.now() + 180_000;
      while (!(await stack.allReady())) {
        if (Date.now() > deadline) throw new Error(`not every service was ready 180 s after the fault:\n${stack.log().slice(-3000)}`);
        await sleep(250);
      }
      faultsPaused = false;
      return (Date.now() - began) / 1000;
    };
    /** Sleeps `ms`, or less if the orders stop first (an early stop skips the outages still to come). */
    const duringDrive = async (ms: number) => {
      for (const until = Date.now() + ms; driving && Date.now() < until; ) await sleep(Math.min(1_000, until - Date.now()));
      return driving;
    };
    const outages = (async () => {
      if (!(await duringDrive(driveMs * 0.45))) return;
      log('restarting PostgreSQL...');
      pgRecoverySeconds.push(await quietly(async () => void (await stack.restartPostgres())));
      log(`PostgreSQL restarted; every service ready again after ${pgRecoverySeconds[0]!.toFixed(1)} s`);
      if (options.bus !== 'kafka') return;
      if (!(await duringDrive(driveMs * 0.25))) return;
      log('stopping the Kafka broker...');
      const outage = await quietly(async () => {
        await stack.stopBroker();
        brokerStops++;
        await sleep((options.brokerOutageSeconds ?? 20) * 1000);
        await stack.startBroker();
      });
      log(`the Kafka broker is back; every service ready ${outage.toFixed(1)} s after it stopped`);
    })().catch((err: unknown) => {
      fatal.push(err as Error);
      faultsPaused = false;
    });

    // The steady flow: order i is due at i × (drive time / orders).
    const began = Date.now();
    const interval = driveMs / options.orders;
    let issued = 0;
    const progress = setInterval(() => {
      log(
        `${((Date.now() - began) / 1000).toFixed(0)} s: ${issued}/${options.orders} placed, ${accepted.size} accepted, ${refused} refused, ` +
          `${inFlight} in flight; kills ${Object.values(kills).reduce((a, b) => a + b, 0)}${driving ? '' : ' (faults over)'}`,
      );
    }, 30_000);
    progress.unref();
    let lastRestock = Date.now();
    for (let i = 0; i < options.orders && !options.signal?.aborted && fatal.length === 0; i++) {
      const due = began + i * interval;
      if (due > Date.now()) await sleep(due - Date.now());
      while (inFlight >= MAX_IN_FLIGHT) await sleep(20);
      inFlight++;
      issued++;
      track(placeOne(i).finally(() => inFlight--));
      if (Date.now() - lastRestock > 5_000) {
        lastRestock = Date.now();
        track(restock());
      }
    }
    // Faults stop with the last order placed; what is in flight then settles.
    driving = false;
    const quietFrom = Date.now();
    await killer;
    await outages;
    await Promise.all([...crashes]);
    track(restock());
    await Promise.all([...pending]);
    if (fatal.length > 0) throw new AggregateError(fatal, `the soak broke: ${fatal.map((e) => e.message).join('; ').slice(0, 2000)}`);
    const driveSeconds = (Date.now() - began) / 1000;
    log(`orders done: ${accepted.size} accepted, ${refused} refused in ${driveSeconds.toFixed(0)} s; waiting for quiescence...`);

    // Quiescence: every order ended and the audit clean (or the timeout).
    const targets: AuditTargets = {
      catalog: stack.url('catalog-service'),
      inventory: stack.url('inventory-service'),
      order: stack.url('order-service'),
      coordinator: stack.url('coordinator-service'),
      analytics: stack.url('analytics-service'),
    };
    // The timeout counts from the last order placed, but never ends less than a minute after the settling above,
    // and a backlog that is still shrinking gets another minute each time (up to four timeouts in all): a stack that
    // fell behind is told apart from one that stopped.
    const timeoutMs = (options.quiescenceTimeoutSeconds ?? 300) * 1000;
    let quiescenceDeadline = Math.max(quietFrom + timeoutMs, Date.now() + 60_000);
    const hardDeadline = quietFrom + 4 * timeoutMs;
    let snapshot: AuditSnapshot | undefined;
    let violations: Violation[] = [];
    let quiescenceSeconds: number | null = null;
    let fewestOpen = Number.POSITIVE_INFINITY;
    let lastReport = 0;
    for (;;) {
      try {
        snapshot = await collectSnapshot(targets, admin);
        violations = auditChecks(snapshot);
        const terminal = new Set(snapshot.orders.filter((o) => isTerminalOrder(o.status)).map((o) => o.orderId));
        const open = [...accepted.values()].filter((p) => ![...p.orderIds].some((id) => terminal.has(id))).length;
        if (violations.length === 0 && open === 0) {
          quiescenceSeconds = (Date.now() - quietFrom) / 1000;
          break;
        }
        if (open < fewestOpen) {
          fewestOpen = open;
          quiescenceDeadline = Math.min(hardDeadline, Math.max(quiescenceDeadline, Date.now() + 60_000));
        }
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          log(`settling: ${open} accepted order(s) not yet ended, ${violations.length} audit finding(s)`);
        }
      } catch (err) {
        log(`audit: could not read the services yet: ${(err as Error).message.slice(0, 200)}`);
      }
      if (Date.now() > quiescenceDeadline) break;
      await sleep(3_000);
    }
    clearInterval(progress);
    if (!snapshot) throw new Error('the auditor could not read the services');
    log(quiescenceSeconds === null ? `not quiet ${((Date.now() - quietFrom) / 1000).toFixed(0)} s after the last order` : `quiet after ${quiescenceSeconds.toFixed(1)} s`);
    for (const v of violations.slice(0, 50)) log(`VIOLATION [${v.check}] ${v.message}`);

    const byId = new Map(snapshot.orders.map((o) => [o.orderId, o]));
    const lost = [...accepted.values()].filter((p) => ![...p.orderIds].some((id) => isTerminalOrder(byId.get(id)?.status ?? 'missing')));
    for (const p of lost.slice(0, 20)) log(`LOST ${p.key}: order ${[...p.orderIds].join(',')} is ${[...p.orderIds].map((id) => byId.get(id)?.status ?? 'missing').join(',')}`);
    const count = (status: string) => [...accepted.values()].filter((p) => byId.get([...p.orderIds][0]!)?.status === status).length;

    const duplicatesByKind = duplicateEffects(snapshot, { placements, runId, before, receivedByUs });
    const stock = new Map(snapshot.stock.map((l) => [l.sku, l]));
    const oversoldUnits = skus.reduce((n, sku) => {
      const l = stock.get(sku)!;
      return n + Math.max(0, l.sold + l.reserved - l.received);
    }, 0);
    const stuckIds = new Set([...snapshot.stuckSagas.map((s) => s.id), ...snapshot.sagas.filter((s) => !['completed', 'rejected', 'cancelled'].includes(s.status)).map((s) => s.id)]);
    const auditByCheck: Record<string, number> = {};
    for (const v of violations) auditByCheck[v.check] = (auditByCheck[v.check] ?? 0) + 1;

    // Every crash the supervisor reported that was not one of our SIGKILLs (a service that exited by itself).
    const { unexpectedCrashes, unexpectedCrashLines } = unexpectedCrashesIn(stack.log());
    for (const line of unexpectedCrashLines) log(`UNEXPECTED CRASH ${line}`);
    for (const e of killErrors) log(`KILL FAILED ${e}`);
    if (killErrors.length > 0) auditByCheck['service restarted after a kill'] = killErrors.length;

    return {
      bus: options.bus,
      ordersRequested: placements.length,
      ordersAccepted: accepted.size,
      ordersRefused: refused,
      confirmed: count('confirmed'),
      rejected: count('rejected'),
      cancelled: count('cancelled'),
      cancellationsRequested: cancellations,
      rejectionReasons: topReasons(snapshot.orders),
      lost: lost.length,
      oversoldUnits,
      stuckSagas: stuckIds.size,
      duplicateEffects: Object.values(duplicatesByKind).reduce((a, b) => a + b, 0),
      duplicatesByKind,
      auditViolations: violations.length + killErrors.length,
      auditByCheck,
      kills,
      killsTotal: Object.values(kills).reduce((a, b) => a + b, 0),
      unexpectedCrashes,
      restartSeconds: { median: quantile(restartSeconds, 0.5), max: quantile(restartSeconds, 1) },
      pgRestarts: pgRecoverySeconds.length,
      pgRecoverySeconds: pgRecoverySeconds.map((s) => Math.round(s * 10) / 10),
      brokerStops,
      driveSeconds: Math.round(driveSeconds),
      ordersPerSecond: Math.round((accepted.size / driveSeconds) * 100) / 100,
      quiescenceSeconds: quiescenceSeconds === null ? null : Math.round(quiescenceSeconds * 10) / 10,
      startedAt,
    };
  }
}

/**
 * The supervisor's crash reports (`! <service> crashed (exit <code or signal>); …`)
 * whose exit is not the soak's own SIGKILL, per service, and the lines themselves.
 */
export function unexpectedCrashesIn(launcherOutput: string): { unexpectedCrashes: Record<string, number>; unexpectedCrashLines: string[] } {
  const unexpectedCrashes: Record<string, number> = {};
  const unexpectedCrashLines: string[] = [];
  for (const line of launcherOutput.split('\n')) {
    const m = /! (\S+) crashed \(exit ([^)]+)\)/.exec(line);
    if (!m || m[2] === 'SIGKILL') continue;
    unexpectedCrashes[m[1]!] = (unexpectedCrashes[m[1]!] ?? 0) + 1;
    unexpectedCrashLines.push(line.trim());
  }
  return { unexpectedCrashes, unexpectedCrashLines };
}

/**
 * Effects applied twice, by kind, from what the client saw and what the
 * services' admin reads say: each kind counts orders (or units, for stock).
 */
export function duplicateEffects(
  snapshot: Pick<AuditSnapshot, 'orders' | 'sagas' | 'stock'>,
  run: { placements: readonly Placement[]; runId: string; before: ReadonlyMap<string, StockLevels>; receivedByUs: ReadonlyMap<string, number> },
): Record<string, number> {
  const ours = snapshot.orders.filter((o) => o.customerId.startsWith(`chaos-${run.runId}-`));
  const perCustomer = new Map<string, number>();
  for (const o of ours) perCustomer.set(o.customerId, (perCustomer.get(o.customerId) ?? 0) + 1);
  const sagasPerOrder = new Map<string, number>();
  for (const s of snapshot.sagas) sagasPerOrder.set(`${s.type} ${s.orderId}`, (sagasPerOrder.get(`${s.type} ${s.orderId}`) ?? 0) + 1);
  // Units sold beyond what the confirmed orders hold (a reservation or a sale applied twice), and units received beyond our receipts.
  const confirmedUnits = new Map<string, number>();
  for (const o of snapshot.orders) if (o.status === 'confirmed') for (const l of o.lines) confirmedUnits.set(l.sku, (confirmedUnits.get(l.sku) ?? 0) + l.quantity);
  let soldTwice = 0;
  let receivedTwice = 0;
  for (const l of snapshot.stock) {
    const b = run.before.get(l.sku);
    if (!b) continue;
    soldTwice += Math.max(0, l.sold - b.sold - (confirmedUnits.get(l.sku) ?? 0));
    receivedTwice += Math.max(0, l.received - b.received - (run.receivedByUs.get(l.sku) ?? 0));
  }
  return {
    /** A retry with the same Idempotency-Key answered with another order. */
    'key answered with two orders': run.placements.filter((p) => p.orderIds.size > 1).length,
    /** Each key is its own customer's only order: a second one is an order created twice. */
    'order created twice': [...perCustomer.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    /** An order confirmed (charged), rejected or cancelled twice in its history. */
    'status reached twice': ours.filter((o) => {
      const seen = o.statusHistory.map((h) => h.status);
      return new Set(seen).size !== seen.length;
    }).length,
    'saga started twice': [...sagasPerOrder.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    'units sold twice': soldTwice,
    'units received twice': receivedTwice,
  };
}

/** Whatever makes a soak fail, by name: all zero is a pass. */
export function chaosFailures(f: ChaosFigures): Record<string, number> {
  const failures = { lost: f.lost, oversoldUnits: f.oversoldUnits, stuckSagas: f.stuckSagas, duplicateEffects: f.duplicateEffects, auditViolations: f.auditViolations };
  return Object.fromEntries(Object.entries(failures).filter(([, n]) => n !== 0));
}

export function formatFigures(f: ChaosFigures): string {
  const kills = Object.entries(f.kills)
    .map(([s, n]) => `${s.replace('-service', '')} ${n}`)
    .join(', ');
  return [
    `chaos soak (${f.bus} bus), started ${f.startedAt}`,
    `  orders        ${f.ordersAccepted} accepted of ${f.ordersRequested} (${f.ordersRefused} refused) in ${f.driveSeconds} s = ${f.ordersPerSecond}/s;` +
      ` ${f.confirmed} confirmed, ${f.rejected} rejected, ${f.cancelled} cancelled (${f.cancellationsRequested} cancellations asked)`,
    `  rejected by   ${JSON.stringify(f.rejectionReasons)}`,
    `  lost          ${f.lost}`,
    `  oversold      ${f.oversoldUnits} unit(s)`,
    `  stuck sagas   ${f.stuckSagas}`,
    `  duplicates    ${f.duplicateEffects} ${JSON.stringify(f.duplicatesByKind)}`,
    `  audit         ${f.auditViolations} violation(s) ${JSON.stringify(f.auditByCheck)}`,
    `  kills         ${f.killsTotal}: ${kills}; back ready after ${f.restartSeconds.median} s (median), ${f.restartSeconds.max} s (max); unexpected crashes ${JSON.stringify(f.unexpectedCrashes)}`,
    `  PG restarts   ${f.pgRestarts} (every service ready again after ${f.pgRecoverySeconds.join(', ')} s); broker stops ${f.brokerStops}`,
    `  quiescence    ${f.quiescenceSeconds === null ? 'not reached' : `${f.quiescenceSeconds} s`}`,
  ].join('\n');
}
