import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonRetriableError, type ConsumedMessage } from '../src/bus/bus';
import { migrateBus, PostgresBus } from '../src/bus/postgres/postgres-bus';
import { encodeEnvelope, envelope } from '../src/envelope/envelope';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { StreamStateCache } from '../src/event-store/unit-of-work';
import { inboxMigrations } from '../src/inbox/inbox';
import { MessageProcessor } from '../src/messaging/message-processor';
import type { MessageHandlers } from '../src/messaging/message-handlers';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';
import { waitFor } from '../src/testing/event-store-conformance';
import { Increment, Noticed, TEST_TOPIC, counterHandlers, counterKit, counterStream, increment, raw } from './fixtures/counter-contract';
import { databaseUrl } from '../src/config/config';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

describe('the message path (MessageProcessor)', () => {
  let dbConn: TestDb;
  let db: Knex;
  let store: PostgresEventStore;

  beforeAll(async () => {
    dbConn = await createTestDatabase('message_path');
    db = createKnex(dbConn);
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    store = new PostgresEventStore({ connection: dbConn });
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
    await dbConn?.drop();
  });

  const processor = (handlers: MessageHandlers = counterHandlers(), consumer = `c-${randomUUID().slice(0, 8)}`) =>
    new MessageProcessor({ consumer, handlers, store, inbox: store, cache: new StreamStateCache() });
  const totals = async (keys: string[]) => {
    const read = await store.readStreams(keys.map((k) => ({ streamId: counterStream(k) })));
    return Object.fromEntries(keys.map((k) => [k, (read.get(counterStream(k)) ?? []).reduce((sum, e) => sum + (e.data as { by: number }).by, 0)]));
  };
  const inboxRows = async (consumer: string) => Number(((await db('inbox_messages').where({ consumer }).count({ n: '*' })) as { n: string }[])[0]!.n);
  const fresh = (n = 3) => Array.from({ length: n }, () => `k-${randomUUID().slice(0, 8)}`);

  it('commits a page as one unit: every message once, with its inbox record, in one transaction', async () => {
    const keys = fresh(5);
    const page = Array.from({ length: 30 }, (_, i) => increment(keys[i % 5]!, 1 + (i % 3)));
    const p = processor();
    expect(await p.handlePage(page)).toEqual({ rejected: [] });
    const expected = Object.fromEntries(keys.map((k, j) => [k, page.filter((_, i) => i % 5 === j).reduce((s, _, i) => s + 1 + ((j + 5 * i) % 3), 0)]));
    expect(await totals(keys)).toEqual(expected);
    expect(await inboxRows(p.consumer)).toBe(30);
    // One transaction: every event of the page has the same recorded time (the transaction's).
    const times = await db('es_events').whereIn('stream_id', keys.map(counterStream)).countDistinct({ n: 'recorded_at' });
    expect(Number((times as { n: string }[])[0]!.n)).toBe(1);
    expect(p.stats()).toMatchObject({ pages: 1, messages: 30, handled: 30, rejected: 0 });
  });

  it('changes nothing when a whole page is delivered again', async () => {
    const keys = fresh();
    const page = keys.flatMap((k) => [increment(k, 2), increment(k, 3)]);
    const p = processor();
    await p.handlePage(page);
    const before = await totals(keys);
    expect(await p.handlePage(page.map((m) => ({ ...m, attempt: 2 })))).toEqual({ rejected: [] });
    // Another member of the group (another process, its own cache) gets it too.
    expect(await processor(counterHandlers(), p.consumer).handlePage(page)).toEqual({ rejected: [] });
    expect(await totals(keys)).toEqual(before);
    expect(before).toEqual(Object.fromEntries(keys.map((k) => [k, 5])));
    expect(await inboxRows(p.consumer)).toBe(page.length);
    expect(p.stats().duplicates).toBe(page.length);
  });

  it('rejects each poison message of a page with its reason, and commits the rest of the page once', async () => {
    const [a, b] = fresh(2) as [string, string];
    const good = [increment(a, 1), increment(b, 2), increment(a, 4)];
    const notEnvelope = raw(a, {}, '{"not":"an envelope"}');
    const unknown = envelopeOf(a, 'test.exploded', { key: a, by: 1 });
    const invalid = envelopeOf(a, Increment.type, { key: a, by: 'many' });
    const unlucky = increment(a, 13);
    const misrouted = { ...increment(b, 1), topic: 'elsewhere.commands' };
    const noticed = envelopeOf(b, Noticed.type, { key: b });
    const page = [good[0]!, notEnvelope, unknown, good[1]!, invalid, unlucky, misrouted, noticed, good[2]!];
    const p = processor();
    const { rejected } = await p.handlePage(page);
    const reasons = new Map(rejected.map((r) => [r.message, (r.error as Error).message]));
    expect(rejected.every((r) => r.error instanceof NonRetriableError)).toBe(true);
    expect(reasons.get(notEnvelope)).toMatch(/not a valid envelope: .*ce_specversion/);
    expect(reasons.get(unknown)).toMatch(/unknown message type test\.exploded .*no contract defines it/);
    expect(reasons.get(invalid)).toMatch(/test\.increment v1 data is invalid/);
    expect(reasons.get(unlucky)).toMatch(/UnprocessableError: 13 is not a number this counter adds/);
    expect(reasons.get(misrouted)).toMatch(/does not handle test\.increment on elsewhere\.commands/);
    expect(rejected).toHaveLength(5);
    // The rest: applied once, as if the poison were not there (nothing it staged was kept); the known-but-unhandled acknowledged.
    expect(await totals([a, b])).toEqual({ [a]: 5, [b]: 2 });
    expect(await inboxRows(p.consumer)).toBe(3);
    expect(p.stats()).toMatchObject({ handled: 3, rejected: 5, ignored: 1 });
  });

  it("keeps each key's messages in order, one after another, and other keys' alongside", async () => {
    const [a, b] = fresh(2) as [string, string];
    const calls: string[] = [];
    let inFlight = 0;
    let most = 0;
    const handlers = counterHandlers({
      ceiling: 10,
      onHandle: async (d) => {
        inFlight++;
        most = Math.max(most, inFlight);
        calls.push(`${d.key === a ? 'a' : 'b'}${d.by}`);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
      },
    });
    const p = processor(handlers);
    const page = [increment(a, 6), increment(b, 1), increment(a, 6), increment(b, 2), increment(a, 3)];
    const { rejected } = await p.handlePage(page);
    // a's second 6 would pass the ceiling after the first: only in order does it break the rule.
    expect(rejected.map((r) => r.message)).toEqual([page[2]]);
    expect(calls.filter((c) => c.startsWith('a'))).toEqual(['a6', 'a6', 'a3', 'a6', 'a3']);
    expect(calls.filter((c) => c.startsWith('b'))).toEqual(['b1', 'b2', 'b1', 'b2']);
    expect(most).toBe(2);
    expect(await totals([a, b])).toEqual({ [a]: 9, [b]: 3 });
  });

  it('decides again on the stored state before rejecting: a rule broken only against a stale cached state holds', async () => {
    const [k] = fresh(1) as [string];
    const consumer = `c-${randomUUID().slice(0, 8)}`;
    const first = processor(counterHandlers({ sequence: true }), consumer);
    const second = processor(counterHandlers({ sequence: true }), consumer);
    await first.handle(increment(k, 1)); // first caches increments = 1
    await second.handle(increment(k, 2)); // another process moves the stream on
    // Against first's cache the next in line is 2, so 3 breaks the rule; against the stream it is right.
    await first.handle(increment(k, 3));
    expect(await totals([k])).toEqual({ [k]: 6 });
    expect(first.stats().rejected).toBe(0);
  });

  it('serialises with another process on the same streams: a commit that finds them moved runs again', async () => {
    const keys = fresh(3);
    const consumer = `c-${randomUUID().slice(0, 8)}`;
    const [p1, p2] = [processor(counterHandlers(), consumer), processor(counterHandlers(), consumer)];
    const messages = Array.from({ length: 120 }, (_, i) => increment(keys[i % 3]!, 1));
    await Promise.all(messages.map((m, i) => (i % 2 === 0 ? p1 : p2).handle(m)));
    expect(await totals(keys)).toEqual(Object.fromEntries(keys.map((k) => [k, 40])));
    expect(await inboxRows(consumer)).toBe(120);
  });

  it('merges calls made at the same time into pages, one page at a time', async () => {
    const keys = fresh(4);
    const p = processor();
    await Promise.all(Array.from({ length: 200 }, (_, i) => p.handle(increment(keys[i % 4]!, 1))));
    expect(await totals(keys)).toEqual(Object.fromEntries(keys.map((k) => [k, 50])));
    expect(p.stats().pages).toBeLessThan(20);
    expect(p.stats().conflicts).toBe(0);
  });

  describe('on the bus, in its own process', () => {
    let busDb: TestDb;
    let bus: PostgresBus;
    beforeAll(async () => {
      busDb = await createTestDatabase('message_path_bus');
      const busKnex = createKnex(busDb);
      await migrateBus(busKnex);
      await busKnex.destroy();
      bus = new PostgresBus({ connection: busDb });
    });
    afterAll(async () => {
      await bus?.close();
      await busDb?.drop();
    });

    it('a crash in the middle of a page commits nothing of it; its redelivery applies every message once', async () => {
      const topic = `counter-${randomUUID().slice(0, 8)}`;
      const kit = counterKit(topic);
      await bus.createTopics([{ name: topic, partitions: 4 }]);
      const group = `g-${randomUUID().slice(0, 8)}`;
      const keys = fresh(6);
      const victim = keys[3]!;
      const messages = Array.from({ length: 60 }, (_, i) => ({ key: keys[i % 6]!, by: 1 + (i % 4) }));
      await bus.publish(messages.map((m, i) => kit.Increment.build(m, { id: randomUUID(), source: 'test', correlationId: `m${i}` })));

      const first = startProcess({ GROUP: group, TOPIC: topic, MAX_PAGE: '12', CRASH_KEY: victim });
      await waitFor(() => first.output().includes('crash-window'), 30_000);
      first.kill();
      await first.exited;
      // Nothing of the victim's page was committed: its counter has no event at all.
      expect((await store.readStream(counterStream(victim))).length).toBe(0);

      const second = startProcess({ GROUP: group, TOPIC: topic, MAX_PAGE: '12' });
      try {
        await waitFor(async () => (await inboxRows(group)) === messages.length, 30_000);
        const expected = Object.fromEntries(keys.map((k) => [k, messages.filter((m) => m.key === k).reduce((s, m) => s + m.by, 0)]));
        expect(await totals(keys)).toEqual(expected);
        const events = await store.readStreams(keys.map((k) => ({ streamId: counterStream(k) })));
        expect([...events.values()].flat()).toHaveLength(messages.length);
      } finally {
        second.kill();
        await second.exited;
      }
    });

    function startProcess(env: Record<string, string>) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'platform', 'test', 'fixtures', 'message-processor-process.ts')], {
        cwd: repoRoot,
        env: { ...process.env, BUS: 'postgres', BUS_DATABASE_URL: databaseUrl(busDb), BUS_HEARTBEAT_MS: '200', BUS_SESSION_TIMEOUT_MS: '1500', SERVICE_DATABASE_URL: databaseUrl(dbConn), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      return { output: () => output, kill: () => child.kill('SIGKILL'), exited };
    }
  });
});

/** A well-formed envelope of any type on the test topic. */
function envelopeOf(key: string, type: string, data: unknown): ConsumedMessage {
  const id = randomUUID();
  const out = encodeEnvelope(envelope({ id, source: 'test', type, schemaversion: 1, correlationid: id, data }), { topic: TEST_TOPIC, key });
  return raw(key, out.headers ?? {}, out.value);
}
