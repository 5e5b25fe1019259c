import path from 'node:path';
import { createBusFromEnv, createKnex, parseDatabaseUrl, type Bus } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackAuditTargets } from '../audit/audit-cli';
import { collectSnapshot } from '../audit/audit-snapshot';
import { adminToken } from '../deploy/admin-access';
import { SERVICE_DATABASES } from '../local/stack';
import { LocalStack, stopAllStacks } from './support/local-stack';
import { parseExposition, sum } from './support/prometheus-text';
import { STACK_BUSES as BUSES } from './support/stack-buses';
import { STACK_SERVICES as SERVICES, auditUntilClean, consumerSubscriptions } from './support/stack-checks';

/** Bookkeeping that a restart rewrites by design (migration locks, HTTP idempotency records): not state a redelivery may touch. */
const NOT_COMPARED = /^(knex_migrations.*|http_idempotency.*)$/;

/**
 * Analytics evaluates its alert rules (ALERT_EVALUATION_INTERVAL, 5 s, and
 * at start) on windows of wall-clock time: the history is fingerprinted only
 * after two evaluations saw it whole, so whatever it warrants is raised by
 * then, and evaluating it again after the restart raises nothing new.
 */
const ALERT_EVALUATIONS_MS = 11_000;

interface Fingerprint {
  /** Per database: each stream's head revision. */
  streamHeads: Record<string, Record<string, number>>;
  /** Per database and table: row count and an md5 of every row, in a fixed order. */
  tables: Record<string, Record<string, string>>;
  /** What analytics says, and what the services say. */
  analytics: unknown;
}

/**
 * The whole history redelivered: with the stack stopped, every consumer
 * group of every service is moved back to the earliest offset of every topic
 * it reads, and the stack started again on the same data. Every message is
 * handed to its consumer once more; the inboxes absorb all of it, so every
 * stream head, every table of every service's database and every analytics
 * total are exactly as before, and the auditor finds nothing.
 */
describe.each(BUSES)('replaying everything to every consumer group (%s bus)', (busKind) => {
  let stack: LocalStack;
  let dataDir: string;
  let before: Fingerprint;
  let groups: { service: string; group: string; topic: string }[] = [];

  beforeAll(async () => {
    stack = await LocalStack.start({ bus: busKind, args: ['--reset'] });
    dataDir = stack.dataDir;
  }, 900_000);
  afterAll(async () => {
    await stopAllStacks();
  });

  const fingerprint = async (): Promise<Fingerprint> => {
    const streamHeads: Fingerprint['streamHeads'] = {};
    const tables: Fingerprint['tables'] = {};
    for (const database of SERVICE_DATABASES) {
      const db = createKnex(parseDatabaseUrl(stack.stack.databases[database]!.url), { max: 1 });
      try {
        const heads = (await db('es_events').select('stream_id').max({ head: 'stream_revision' }).groupBy('stream_id')) as { stream_id: string; head: string }[];
        streamHeads[database] = Object.fromEntries(heads.map((h) => [h.stream_id, Number(h.head)]));
        const names = ((await db('pg_tables').where({ schemaname: 'public' }).select('tablename')) as { tablename: string }[]).map((t) => t.tablename).filter((t) => !NOT_COMPARED.test(t)).sort();
        tables[database] = {};
        for (const name of names) {
          const row = (await db.raw(`select count(*) as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as sum from "${name}" t`)).rows[0] as { n: string; sum: string };
          tables[database]![name] = `${row.n} rows ${row.sum}`;
        }
      } finally {
        await db.destroy();
      }
    }
    const { targets, secret } = await stackAuditTargets(path.join(dataDir, 'stack.json'));
    const snapshot = await collectSnapshot(targets, await adminToken({ secret, issuer: 'urn:shop:auth', audience: 'urn:shop:api' }, 'replay-test'));
    const analytics = { funnel: snapshot.analyticsFunnel, revenue: snapshot.analyticsRevenue, stock: snapshot.analyticsStock, orders: snapshot.orders.length, sagas: snapshot.sagas.length };
    return { streamHeads, tables, analytics };
  };

  const lagsAndHandled = async () => {
    let lag = 0;
    const handled: Record<string, number> = {};
    for (const service of SERVICES) {
      const samples = parseExposition(await (await fetch(`${stack.url(`${service}-service`)}/metrics`)).text());
      lag += sum(samples, 'shop_bus_consumer_lag_messages');
      for (const s of samples.filter((x) => x.name === 'shop_bus_messages_handled_total')) handled[s.labels.group!] = (handled[s.labels.group!] ?? 0) + s.value;
    }
    return { lag, handled };
  };

  const quiet = async () => expect((await auditUntilClean(stack, 90_000)).violations).toEqual([]);

  it('builds a history: orders confirmed, rejected and cancelled, then goes quiet', async () => {
    const customer = await stack.token('customer');
    const skus = (await stack.products('limit=20')).map((p) => p.sku);
    const orders: string[] = [];
    for (let i = 0; i < 12; i++) {
      const token = i === 3 || i === 9 ? 'tok_decline' : 'tok_approve';
      orders.push(await stack.placeOrder(customer, [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 3) }, { sku: skus[(i + 5) % skus.length]!, quantity: 1 }], token));
    }
    for (const id of orders) await stack.waitForOrder(customer, id, ['confirmed', 'rejected'], 60_000);
    const confirmed = [];
    for (const id of orders) if ((await stack.order(customer, id)).status === 'confirmed') confirmed.push(id);
    for (const id of confirmed.slice(0, 2)) {
      const res = await stack.request('order-service', 'POST', `/v1/orders/${id}/cancel`, customer, { reason: 'changed my mind' }, { 'idempotency-key': `cancel-${id}` });
      expect([200, 202]).toContain(res.status);
    }
    for (const id of confirmed.slice(0, 2)) await stack.waitForOrder(customer, id, ['cancelled'], 60_000);
    await quiet();
    await new Promise((r) => setTimeout(r, ALERT_EVALUATIONS_MS));
    before = await fingerprint();
    groups = await consumerSubscriptions(stack);
    expect(new Set(groups.map((g) => g.service))).toEqual(new Set(SERVICES));
  }, 600_000);

  it('moves every group back to the earliest offset, restarts, and every message is redelivered and absorbed: nothing changes', async () => {
    const busEnv = () =>
      busKind === 'kafka'
        ? { BUS: 'kafka', KAFKA_BROKERS: stack.kafka().brokers, LOG_LEVEL: 'silent' }
        : { BUS: 'postgres', BUS_DATABASE_URL: stack.stack.databases.bus!.url, LOG_LEVEL: 'silent' };
    // What each group has to read again: everything retained on its topics (the lag of a group that never committed).
    const retained: Record<string, number> = {};
    const probe: Bus = createBusFromEnv(busEnv());
    try {
      for (const { group, topic } of groups) retained[group] = (retained[group] ?? 0) + (await probe.lag(`replay-probe-${group}`, [topic])).reduce((n, p) => n + p.lag, 0);
    } finally {
      await probe.close();
    }
    const total = Object.values(retained).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(100);

    // Stopped (groups empty), then started on the same data with every group moved back to the earliest offsets.
    await stack.stop();
    stack = await LocalStack.start({ bus: busKind, dataDir, env: { BUS_REPLAY_FROM_EARLIEST: 'true' } });
    let seen: Awaited<ReturnType<typeof lagsAndHandled>> | undefined;
    await waitFor(async () => {
      seen = await lagsAndHandled();
      return seen.lag === 0 && Object.entries(retained).every(([group, n]) => (seen!.handled[group] ?? 0) >= n);
    }, 240_000).catch(() => undefined);
    // Every retained message was handed to its group again (handled counts only this run's deliveries).
    for (const [group, n] of Object.entries(retained)) expect(seen!.handled[group] ?? 0, group).toBeGreaterThanOrEqual(n);
    expect(seen!.lag).toBe(0);
    await quiet();

    const after = await fingerprint();
    expect(after.streamHeads).toEqual(before.streamHeads);
    expect(after.tables).toEqual(before.tables);
    expect(after.analytics).toEqual(before.analytics);
    console.log(
      JSON.stringify({
        replayEverything: {
          bus: busKind,
          groups: Object.keys(retained).length,
          subscriptions: groups.length,
          redelivered: total,
          streams: Object.values(before.streamHeads).reduce((n, h) => n + Object.keys(h).length, 0),
          tablesCompared: Object.values(before.tables).reduce((n, t) => n + Object.keys(t).length, 0),
          changed: 0,
        },
      }),
    );
  }, 600_000);
});
