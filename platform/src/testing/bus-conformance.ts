import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busMetrics } from '../observability/metrics';
import {
  DEAD_LETTER_HEADERS,
  NonRetriableError,
  type Bus,
  type ConsumedMessage,
  type Consumer,
  type ConsumerOptions,
  type OutgoingMessage,
  type PageOutcome,
} from '../bus/bus';
import { encodeEnvelope, envelope } from '../envelope/envelope';
import { inboxHandler, inboxMigrations } from '../inbox/inbox';
import { createKnex, runMigrations } from '../persistence/migrations';
import type { DatabaseConnection } from '../embedded-postgres/provision';
import { waitFor } from '../process/wait-for';
import { databaseUrl } from '../config/config';

export interface BusFixture {
  bus: Bus;
  /** Another client of the same bus, as another process would have. Closed by `close`. */
  newClient(): Promise<Bus>;
  /** Environment under which a child process's `createBusFromEnv` reaches the same bus. */
  childEnv(): Record<string, string>;
  /** How long a dead member keeps its partitions before the group reassigns them. */
  sessionTimeoutMs: number;
  /** The consuming service's database, for inbox and effects. */
  effectsDb: DatabaseConnection;
  close(): Promise<void>;
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const consumerProcess = path.join(repoRoot, 'platform', 'test', 'fixtures', 'bus-consumer-process.ts');

const topicName = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

function message(topic: string, key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): OutgoingMessage {
  return { topic, key, value: JSON.stringify(body), headers };
}

function envelopeMessage(topic: string, key: string, id: string, data: Record<string, unknown> = {}): OutgoingMessage {
  return encodeEnvelope(
    envelope({ id, source: 'conformance', type: 'test.happened', schemaversion: 1, correlationid: id, data }),
    { topic, key },
  );
}

/**
 * The promises of the Bus port. Every adapter runs this same suite.
 */
/** The delivery counters of `/metrics` for a group and topic. */
async function deliveryCounts(group: string, topic: string) {
  const value = async (metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, suffix?: string) =>
    (await metric.get()).values
      .filter((v) => v.labels.group === group && (v.labels.topic === undefined || v.labels.topic === topic) && (suffix === undefined || v.metricName?.endsWith(suffix)))
      .reduce((n, v) => n + v.value, 0);
  return {
    handled: await value(busMetrics.handled),
    retried: await value(busMetrics.retried),
    deadLettered: await value(busMetrics.deadLettered),
    timed: await value(busMetrics.handlerDuration, '_count'),
  };
}

export function describeBusConformance(adapter: string, createFixture: () => Promise<BusFixture>): void {
  describe(`Bus conformance: ${adapter}`, () => {
    let fixture: BusFixture;
    let bus: Bus;
    let effects: Knex;
    const consumers: Consumer[] = [];

    const consume = (options: Omit<ConsumerOptions, 'handler'> & { handler?: ConsumerOptions['handler'] }, on: Bus = bus) => {
      const received: ConsumedMessage[] = [];
      const consumer = on.consumer({
        ...options,
        handler: async (m) => {
          await options.handler?.(m);
          received.push(m);
        },
      });
      consumers.push(consumer);
      return { consumer, received };
    };

    beforeAll(async () => {
      fixture = await createFixture();
      bus = fixture.bus;
      effects = createKnex(fixture.effectsDb);
      await runMigrations(effects, 'inbox', inboxMigrations);
      await effects.raw('create table if not exists effects (message_id text not null, key text not null)');
    });
    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      await effects?.destroy();
      await fixture?.close();
    });

    it('delivers keyed messages with their headers to a consumer group', async () => {
      const topic = topicName('basic');
      await bus.createTopics([{ name: topic, partitions: 3 }]);
      await bus.publish([
        message(topic, 'k1', { n: 1 }, { 'x-trace': 'abc', 'ce_id': 'id-1' }),
        message(topic, 'k2', { n: 2 }),
      ]);
      const { consumer, received } = consume({ groupId: topicName('g'), topics: [topic] });
      await consumer.start();
      await waitFor(() => received.length === 2);
      const byKey = Object.fromEntries(received.map((m) => [m.key, m]));
      expect(JSON.parse(byKey.k1!.value)).toEqual({ n: 1 });
      expect(byKey.k1!.headers).toMatchObject({ 'x-trace': 'abc', ce_id: 'id-1' });
      expect(byKey.k1!.attempt).toBe(1);
      expect(consumer.healthy()).toBe(true);
      expect(consumer.status().partitions).toHaveLength(3);
    });

    it("reports a group's lag per partition (everything before it first commits, 0 once it caught up) and a topic's depth", async () => {
      const topic = topicName('lag');
      const groupId = topicName('g');
      expect(await bus.lag(groupId, [topicName('missing')])).toEqual([]);
      expect(await bus.depth(topicName('missing'))).toBe(0);
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      const published = await bus.publish([message(topic, 'a', { n: 1 }), message(topic, 'a', { n: 2 }), message(topic, 'b', { n: 3 })]);
      const perPartition = (p: number) => published.filter((m) => m.partition === p).length;
      expect(await bus.lag(groupId, [topic])).toEqual([0, 1].map((partition) => ({ topic, partition, lag: perPartition(partition) })));
      expect(await bus.depth(topic)).toBe(3);

      const before = await deliveryCounts(groupId, topic);
      const { consumer, received } = consume({
        groupId,
        topics: [topic],
        retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 },
        handler: async (m) => {
          const { n } = JSON.parse(m.value) as { n: number };
          if (n === 3) throw new Error('never');
          if (n === 2 && m.attempt === 1) throw new Error('once');
        },
      });
      await consumer.start();
      await waitFor(async () => received.length === 2 && consumer.status().deadLettered === 1 && (await bus.lag(groupId, [topic])).every((p) => p.lag === 0), 20_000);
      expect(await bus.lag(groupId, [topic])).toEqual([0, 1].map((partition) => ({ topic, partition, lag: 0 })));
      expect(await bus.depth(`${groupId}.dead-letter`)).toBe(1);
      // The delivery metrics: two handled, two failed tries that were retried (n=2 once, n=3 once), one dead-lettered.
      const after = await deliveryCounts(groupId, topic);
      expect({ handled: after.handled - before.handled, retried: after.retried - before.retried, deadLettered: after.deadLettered - before.deadLettered }).toEqual({
        handled: 2,
        retried: 2,
        deadLettered: 1,
      });
      expect(after.timed - before.timed).toBe(5);
    });

    it('keeps order per key under concurrent publishers, across a group of two', async () => {
      const topic = topicName('order');
      await bus.createTopics([{ name: topic, partitions: 4 }]);
      const publishers = await Promise.all([bus, await fixture.newClient(), await fixture.newClient()].map((b) => b));
      const groupId = topicName('g');
      const other = await fixture.newClient();
      const a = consume({ groupId, topics: [topic] });
      const b = consume({ groupId, topics: [topic] }, other);
      await Promise.all([a.consumer.start(), b.consumer.start()]);
      const perPublisher = 120;
      await Promise.all(
        publishers.map(async (pub, p) => {
          for (let i = 0; i < perPublisher; i += 4) {
            // Each publisher owns its keys: order is defined per key and publisher.
            await pub.publish(
              [0, 1, 2, 3].map((j) => message(topic, `p${p}-key${(i + j) % 6}`, { seq: i + j })),
            );
          }
        }),
      );
      const total = publishers.length * perPublisher;
      await waitFor(() => a.received.length + b.received.length >= total, 30_000);
      const seqsByKey = new Map<string, number[]>();
      for (const m of [...a.received, ...b.received].sort((x, y) => x.partition - y.partition || x.offset - y.offset)) {
        seqsByKey.set(m.key, [...(seqsByKey.get(m.key) ?? []), (JSON.parse(m.value) as { seq: number }).seq]);
      }
      expect(seqsByKey.size).toBe(publishers.length * 6);
      for (const [, seqs] of seqsByKey) expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      // Each member handled what it was delivered in offset order.
      for (const { received } of [a, b]) {
        const byPartition = new Map<number, number[]>();
        for (const m of received) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.offset]);
        for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
      }
      expect(a.received.length).toBeGreaterThan(0);
      expect(b.received.length).toBeGreaterThan(0);
    });

    it('retries a failing handler with backoff until it succeeds', async () => {
      const topic = topicName('retry');
      let failures = 0;
      const attempts: number[] = [];
      const { consumer, received } = consume({
        groupId: topicName('g'),
        topics: [topic],
        retry: { maxAttempts: 5, initialBackoffMs: 20, maxBackoffMs: 100 },
        handler: async (m) => {
          attempts.push(m.attempt);
          if (failures++ < 2) throw new Error('transient');
        },
      });
      await consumer.start();
      await bus.publish([message(topic, 'k', { n: 1 })]);
      await waitFor(() => received.length === 1);
      expect(attempts).toEqual([1, 2, 3]);
      expect(consumer.status().deadLettered).toBe(0);
    });

    it('dead-letters a poison message with its headers, the error and the attempt count, and keeps going', async () => {
      const topic = topicName('poison');
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const groupId = topicName('g');
      const { consumer, received } = consume({
        groupId,
        topics: [topic],
        retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
        handler: async (m) => {
          if ((JSON.parse(m.value) as { poison?: boolean }).poison) throw new Error('cannot digest this');
        },
      });
      const dead = consume({ groupId: topicName('dlq-reader'), topics: [`${groupId}.dead-letter`] });
      await consumer.start();
      await dead.consumer.start();
      await bus.publish([
        message(topic, 'same-key', { n: 1 }),
        message(topic, 'same-key', { n: 2, poison: true }, { 'x-origin': 'test' }),
        message(topic, 'same-key', { n: 3 }),
      ]);
      await waitFor(() => received.length === 2 && dead.received.length === 1);
      expect(received.map((m) => (JSON.parse(m.value) as { n: number }).n)).toEqual([1, 3]);
      const d = dead.received[0]!;
      expect(JSON.parse(d.value)).toEqual({ n: 2, poison: true });
      expect(d.key).toBe('same-key');
      expect(d.headers).toMatchObject({
        'x-origin': 'test',
        [DEAD_LETTER_HEADERS.topic]: topic,
        [DEAD_LETTER_HEADERS.group]: groupId,
        [DEAD_LETTER_HEADERS.error]: 'cannot digest this',
        [DEAD_LETTER_HEADERS.attempts]: '3',
      });
      expect(consumer.status().deadLettered).toBe(1);
      expect(consumer.healthy()).toBe(true);
    });

    it('dead-letters at once what no retry can fix, including a message that is not an envelope', async () => {
      const topic = topicName('undecodable');
      const groupId = topicName('g');
      const handled: string[] = [];
      const consumer = bus.consumer({
        groupId,
        topics: [topic],
        retry: { maxAttempts: 5, initialBackoffMs: 10 },
        handler: async (m) => {
          if (m.key === 'refuse') throw new NonRetriableError('refused by rule');
          await inboxHandler(effects, groupId, async (env) => {
            handled.push(env.id);
          })(m);
        },
      });
      consumers.push(consumer);
      const dead = consume({ groupId: topicName('dlq-reader'), topics: [`${groupId}.dead-letter`] });
      await consumer.start();
      await dead.consumer.start();
      const goodId = randomUUID();
      await bus.publish([
        message(topic, 'k', { not: 'an envelope' }),
        message(topic, 'refuse', { n: 1 }),
        envelopeMessage(topic, 'k', goodId),
      ]);
      await waitFor(() => dead.received.length === 2 && handled.length === 1);
      expect(handled).toEqual([goodId]);
      const reasons = dead.received.map((m) => [m.headers[DEAD_LETTER_HEADERS.attempts], m.headers[DEAD_LETTER_HEADERS.error]]);
      expect(reasons).toEqual(
        expect.arrayContaining([
          ['1', expect.stringMatching(/not a valid envelope: .*ce_specversion/)],
          ['1', 'refused by rule'],
        ]),
      );
    });

    it('redelivers after a consumer crash, and the inbox keeps the effect single', async () => {
      const topic = topicName('crash');
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      const groupId = topicName('g');
      const ids = Array.from({ length: 30 }, () => randomUUID());
      const victim = ids[12]!;
      await bus.publish(ids.map((id, i) => envelopeMessage(topic, `key-${i % 5}`, id)));

      const first = startConsumerProcess(fixture, { GROUP: groupId, TOPIC: topic, CRASH_ON: victim });
      await waitFor(() => first.output().includes(`crash-window ${victim}`), 30_000);
      first.kill();
      await first.exited;

      const second = startConsumerProcess(fixture, { GROUP: groupId, TOPIC: topic });
      try {
        await waitFor(async () => Number((await effects('effects').whereIn('message_id', ids).count({ n: '*' }))[0]!.n) === ids.length, 30_000);
        // Handled again: delivered to the second process...
        await waitFor(() => second.output().includes(`delivered ${victim}`), 10_000);
        // ...but applied once, by the first.
        expect(second.output()).not.toContain(`applied ${victim}`);
        const rows = (await effects('effects').whereIn('message_id', ids).select('message_id')) as { message_id: string }[];
        expect(rows.map((r) => r.message_id).sort()).toEqual([...ids].sort());
      } finally {
        second.kill();
        await second.exited;
      }
    });

    it('hands the partitions of a member that stops to the one that stays', async () => {
      const topic = topicName('rebalance');
      await bus.createTopics([{ name: topic, partitions: 4 }]);
      const groupId = topicName('g');
      const a = consume({ groupId, topics: [topic] });
      const b = consume({ groupId, topics: [topic] }, await fixture.newClient());
      await a.consumer.start();
      await b.consumer.start();
      await waitFor(() => a.consumer.status().partitions.length === 2 && b.consumer.status().partitions.length === 2, 15_000);
      await bus.publish(Array.from({ length: 40 }, (_, i) => message(topic, `k${i}`, { i })));
      await waitFor(() => a.received.length + b.received.length >= 40, 15_000);
      await a.consumer.stop();
      await waitFor(() => b.consumer.status().partitions.length === 4, 15_000);
      await bus.publish(Array.from({ length: 40 }, (_, i) => message(topic, `k${i}`, { i: 40 + i })));
      await waitFor(() => b.received.filter((m) => (JSON.parse(m.value) as { i: number }).i >= 40).length === 40, 15_000);
    });

    it('takes over the partitions of a member whose process dies', async () => {
      const topic = topicName('takeover');
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      const groupId = topicName('g');
      const doomed = startConsumerProcess(fixture, { GROUP: groupId, TOPIC: topic });
      await waitFor(() => doomed.output().includes('started'), 30_000);
      const survivor = consume({ groupId, topics: [topic] });
      await survivor.consumer.start();
      await waitFor(() => survivor.consumer.status().partitions.length === 1, 15_000);
      doomed.kill();
      await doomed.exited;
      const ids = Array.from({ length: 20 }, () => randomUUID());
      await bus.publish(ids.map((id, i) => envelopeMessage(topic, `key-${i}`, id)));
      await waitFor(() => survivor.consumer.status().partitions.length === 2, fixture.sessionTimeoutMs + 15_000);
      await waitFor(() => survivor.received.length === 20, 15_000);
    });

    it('replays from the earliest offset: a new group, and a group moved back', async () => {
      const topic = topicName('replay');
      await bus.publish(Array.from({ length: 10 }, (_, i) => message(topic, `k${i}`, { i })));
      const groupId = topicName('g');
      const first = consume({ groupId, topics: [topic] });
      await first.consumer.start();
      await waitFor(() => first.received.length === 10);
      await first.consumer.stop();

      await bus.seekToEarliest(groupId, topic);
      const again = consume({ groupId, topics: [topic] });
      await again.consumer.start();
      await waitFor(() => again.received.length === 10);

      const late = consume({ groupId: topicName('late'), topics: [topic], startFrom: 'latest' });
      await late.consumer.start();
      await waitFor(() => late.consumer.status().partitions.length > 0);
      await new Promise((r) => setTimeout(r, 300));
      await bus.publish([message(topic, 'new', { i: 99 })]);
      await waitFor(() => late.received.length === 1);
      expect(JSON.parse(late.received[0]!.value)).toEqual({ i: 99 });
    });

    it('returns the partition and offset each published message was stored at', async () => {
      const topic = topicName('offsets');
      await bus.createTopics([{ name: topic, partitions: 3 }]);
      const sent = Array.from({ length: 12 }, (_, i) => message(topic, `k${i % 5}`, { i }));
      const published = [...(await bus.publish(sent.slice(0, 7))), ...(await bus.publish(sent.slice(7)))];
      const { consumer, received } = consume({ groupId: topicName('g'), topics: [topic] });
      await consumer.start();
      await waitFor(() => received.length === sent.length);
      const stored = new Map(received.map((m) => [(JSON.parse(m.value) as { i: number }).i, { topic: m.topic, partition: m.partition, offset: m.offset }]));
      expect(published).toEqual(sent.map((_, i) => stored.get(i)));
    });

    it('stops after the message in hand, commits it, and the group goes on after it', async () => {
      const topic = topicName('stop');
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const groupId = topicName('g');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let inHand = false;
      const { consumer, received } = consume({
        groupId,
        topics: [topic],
        handler: async (m) => {
          if ((JSON.parse(m.value) as { n: number }).n !== 1) return;
          inHand = true;
          await gate;
        },
      });
      await consumer.start();
      await bus.publish([1, 2, 3].map((n) => message(topic, 'k', { n })));
      await waitFor(() => inHand);
      const stopped = consumer.stop();
      await new Promise((r) => setTimeout(r, 100));
      release();
      await stopped;
      expect(received.map((m) => (JSON.parse(m.value) as { n: number }).n)).toEqual([1]);

      const next = consume({ groupId, topics: [topic] });
      await next.consumer.start();
      await waitFor(() => next.received.length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(next.received.map((m) => (JSON.parse(m.value) as { n: number }).n)).toEqual([2, 3]);
    });

    it('moves a group that starts from the latest back to the earliest retained message', async () => {
      const topic = topicName('rewind');
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      await bus.publish([0, 1].map((i) => message(topic, `k${i}`, { i })));
      const groupId = topicName('g');
      const first = consume({ groupId, topics: [topic], startFrom: 'latest' });
      await first.consumer.start();
      await waitFor(() => first.consumer.status().partitions.length === 2);
      await new Promise((r) => setTimeout(r, 300));
      await bus.publish([2, 3, 4].map((i) => message(topic, `k${i}`, { i })));
      await waitFor(() => first.received.length === 3);
      await first.consumer.stop();

      await bus.seekToEarliest(groupId, topic);
      const again = consume({ groupId, topics: [topic], startFrom: 'latest' });
      await again.consumer.start();
      await waitFor(() => again.received.length === 5);
      expect(again.received.map((m) => (JSON.parse(m.value) as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4]);
    });

    describe('page consumers (pageHandler)', () => {
      /** A page consumer recording its pages; `decide` says what to reject or whether to fail the page. */
      const consumePages = (options: Omit<ConsumerOptions, 'handler' | 'pageHandler'>, decide: (page: ConsumedMessage[]) => PageOutcome | Promise<PageOutcome> = () => ({ rejected: [] })) => {
        const pages: ConsumedMessage[][] = [];
        const handled: ConsumedMessage[] = [];
        const consumer = bus.consumer({
          ...options,
          pageHandler: async (page) => {
            const outcome = await decide(page);
            pages.push(page);
            const out = new Set(outcome.rejected.map((r) => r.message));
            handled.push(...page.filter((m) => !out.has(m)));
            return outcome;
          },
        });
        consumers.push(consumer);
        return { consumer, pages, handled };
      };
      const n = (m: ConsumedMessage) => (JSON.parse(m.value) as { n: number }).n;

      it('hands over what every owned partition has as one page, in offset order per partition, and commits the page', async () => {
        const topic = topicName('pages');
        await bus.createTopics([{ name: topic, partitions: 4 }]);
        const groupId = topicName('g');
        await bus.publish(Array.from({ length: 60 }, (_, i) => message(topic, `k${i % 12}`, { n: i })));
        const { consumer, pages, handled } = consumePages({ groupId, topics: [topic] });
        await consumer.start();
        await waitFor(() => handled.length >= 60, 30_000);
        expect(handled.map(n).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
        // One page spans partitions...
        expect(Math.max(...pages.map((p) => new Set(p.map((m) => m.partition)).size))).toBeGreaterThan(1);
        // ...and keeps each partition's offsets in order, across pages too.
        const byPartition = new Map<number, number[]>();
        for (const m of pages.flat()) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.offset]);
        for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        // Committed: the next member of the group gets nothing of it.
        await consumer.stop();
        const next = consumePages({ groupId, topics: [topic] });
        await next.consumer.start();
        await bus.publish([message(topic, 'k0', { n: 60 })]);
        await waitFor(() => next.handled.length >= 1, 15_000);
        await new Promise((r) => setTimeout(r, 300));
        expect(next.handled.map(n)).toEqual([60]);
      });

      it('dead-letters at once what a page rejects, with the reason, and commits the rest of the page', async () => {
        const topic = topicName('page-reject');
        await bus.createTopics([{ name: topic, partitions: 2 }]);
        const groupId = topicName('g');
        const dead = consume({ groupId: topicName('dlq-reader'), topics: [`${groupId}.dead-letter`] });
        await dead.consumer.start();
        let calls = 0;
        const { consumer, handled } = consumePages({ groupId, topics: [topic], retry: { maxAttempts: 5, initialBackoffMs: 10 } }, (page) => {
          calls++;
          return { rejected: page.filter((m) => m.key === 'refuse').map((message) => ({ message, error: new NonRetriableError('refused by rule') })) };
        });
        await bus.publish([message(topic, 'a', { n: 1 }), message(topic, 'refuse', { n: 2 }, { 'x-origin': 'test' }), message(topic, 'b', { n: 3 })]);
        await consumer.start();
        await waitFor(() => handled.length === 2 && dead.received.length === 1, 15_000);
        expect(handled.map(n).sort()).toEqual([1, 3]);
        expect(dead.received[0]!.headers).toMatchObject({
          'x-origin': 'test',
          [DEAD_LETTER_HEADERS.error]: 'refused by rule',
          [DEAD_LETTER_HEADERS.attempts]: '1',
          [DEAD_LETTER_HEADERS.group]: groupId,
        });
        // No retry for a rejection: each message went through the handler once.
        expect(calls).toBeLessThanOrEqual(2);
        expect(consumer.status().deadLettered).toBe(1);
      });

      it('retries a failing page whole, then message by message, so only the poison is dead-lettered', async () => {
        const topic = topicName('page-poison');
        await bus.createTopics([{ name: topic, partitions: 1 }]);
        const groupId = topicName('g');
        const dead = consume({ groupId: topicName('dlq-reader'), topics: [`${groupId}.dead-letter`] });
        await dead.consumer.start();
        const attempts: number[] = [];
        const { consumer, handled } = consumePages(
          { groupId, topics: [topic], retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 } },
          (page) => {
            attempts.push(page.length);
            // Infrastructure-like: the whole page fails while the poison is in it.
            if (page.some((m) => n(m) === 2)) throw new Error('cannot digest this');
            return { rejected: [] };
          },
        );
        await bus.publish([1, 2, 3, 4].map((i) => message(topic, 'same-key', { n: i })));
        await consumer.start();
        await waitFor(() => handled.length === 3 && dead.received.length === 1, 15_000);
        // Every good message handled exactly once, in order; the poison alone dead-lettered after its own attempts.
        expect(handled.map(n)).toEqual([1, 3, 4]);
        expect(n(dead.received[0]!)).toBe(2);
        expect(dead.received[0]!.headers).toMatchObject({ [DEAD_LETTER_HEADERS.error]: 'cannot digest this', [DEAD_LETTER_HEADERS.attempts]: '3' });
        expect(attempts.slice(0, 3)).toEqual([4, 4, 4]);
        expect(consumer.healthy()).toBe(true);
      });

      it('redelivers at most the page in hand after a crash, and the inbox keeps every effect single', async () => {
        const topic = topicName('page-crash');
        await bus.createTopics([{ name: topic, partitions: 2 }]);
        const groupId = topicName('g');
        const ids = Array.from({ length: 40 }, () => randomUUID());
        const victim = ids[25]!;
        await bus.publish(ids.map((id, i) => envelopeMessage(topic, `key-${i % 6}`, id)));

        // Offsets committed after every page (on the Postgres bus they are otherwise committed at most every BUS_COMMIT_INTERVAL_MS).
        const first = startConsumerProcess(fixture, { GROUP: groupId, TOPIC: topic, CRASH_ON: victim, PAGES: '1', MAX_PAGE: '10', BUS_COMMIT_INTERVAL_MS: '0' });
        await waitFor(() => first.output().includes(`crash-window ${victim}`), 30_000);
        first.kill();
        await first.exited;
        const appliedByFirst = first.output().split('\n').filter((l) => l.startsWith('applied ')).length;

        const second = startConsumerProcess(fixture, { GROUP: groupId, TOPIC: topic, PAGES: '1', MAX_PAGE: '10' });
        try {
          await waitFor(async () => Number((await effects('effects').whereIn('message_id', ids).count({ n: '*' }))[0]!.n) === ids.length, 30_000);
          await waitFor(() => second.output().includes(`delivered ${victim}`), 10_000);
          const out = second.output().split('\n');
          const redelivered = out.filter((l) => l.startsWith('delivered ')).map((l) => l.slice(10)).filter((id) => first.output().includes(`applied ${id}`));
          // What came again is the page in hand (at most a page), and none of it was applied twice.
          expect(redelivered.length).toBeGreaterThan(0);
          expect(redelivered.length).toBeLessThanOrEqual(10);
          expect(out.filter((l) => l.startsWith('applied ')).length).toBe(ids.length - appliedByFirst);
          const rows = (await effects('effects').whereIn('message_id', ids).select('message_id')) as { message_id: string }[];
          expect(rows.map((r) => r.message_id).sort()).toEqual([...ids].sort());
        } finally {
          second.kill();
          await second.exited;
        }
      });
    });

    it('pauses and resumes without losing messages', async () => {
      const topic = topicName('pause');
      const { consumer, received } = consume({ groupId: topicName('g'), topics: [topic] });
      await consumer.start();
      consumer.pause();
      await bus.publish([message(topic, 'k', { n: 1 })]);
      await new Promise((r) => setTimeout(r, 500));
      expect(received).toHaveLength(0);
      expect(consumer.healthy()).toBe(true);
      consumer.resume();
      await waitFor(() => received.length === 1);
    });
  });
}

function startConsumerProcess(fixture: BusFixture, env: Record<string, string>) {
  const effectsUrl = databaseUrl(fixture.effectsDb);
  // One process (node with tsx's loader), so that SIGKILL kills the consumer
  // itself and not a launcher that would leave it running.
  const child = spawn(process.execPath, ['--import', 'tsx', consumerProcess], {
    cwd: repoRoot,
    env: { ...process.env, ...fixture.childEnv(), EFFECTS_DATABASE_URL: effectsUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { output: () => output, kill: () => child.kill('SIGKILL'), exited };
}
