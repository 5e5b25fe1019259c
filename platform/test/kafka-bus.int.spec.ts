import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ConfigResourceTypes, Partitioners, type PartitionMetadata } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, NonRetriableError, type ConsumedMessage, type Consumer, type ConsumerOptions } from '../src/bus/bus';
import { consumerReadiness } from '../src/bus/bus-readiness';
import { KafkaBus, type KafkaBusOptions } from '../src/bus/kafka/kafka-bus';
import type { KafkaConsumer } from '../src/bus/kafka/kafka-consumer';
import { partitionForKey } from '../src/bus/partitioner';
import { decodeEnvelope, encodeEnvelope, envelope } from '../src/envelope/envelope';
import { handleOnce, inboxMigrations } from '../src/inbox/inbox';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase, waitFor } from '../src/testing';
import { describeBusConformance } from '../src/testing/bus-conformance';
import { kafkaTestBrokers, skipKafkaTests } from '../src/testing/kafka-env';

// Short enough for a quick file, within the broker's bounds (6 s minimum session).
const SESSION_TIMEOUT_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 500;
const MAX_WAIT_MS = 200;

const skip = skipKafkaTests('Kafka bus tests');

async function busOptions(): Promise<KafkaBusOptions> {
  return {
    brokers: (await kafkaTestBrokers()).split(','),
    clientId: 'kafka-bus-test',
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    maxWaitTimeMs: MAX_WAIT_MS,
    restartBackoff: { initialMs: 200, maxMs: 2_000 },
    logger: pino({ level: 'silent' }),
  };
}

describe.skipIf(skip)('Kafka bus', () => {
  describeBusConformance('kafka', async () => {
    const options = await busOptions();
    const effectsDb = await createTestDatabase('kafka_bus_effects');
    const bus = new KafkaBus(options);
    const clients: KafkaBus[] = [];
    return {
      bus,
      newClient() {
        const client = new KafkaBus(options);
        clients.push(client);
        return Promise.resolve(client);
      },
      childEnv: () => ({
        BUS: 'kafka',
        KAFKA_BROKERS: options.brokers.join(','),
        KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        KAFKA_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
        KAFKA_MAX_WAIT_MS: String(MAX_WAIT_MS),
        LOG_LEVEL: 'silent',
      }),
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      effectsDb,
      async close() {
        await Promise.all(clients.map((c) => c.close()));
        await bus.close();
        await effectsDb.drop();
      },
    };
  });

  describe('kafkajs weak spots, guarded', () => {
    let bus: KafkaBus;
    let effectsDb: Awaited<ReturnType<typeof createTestDatabase>>;
    let effects: Knex;
    const consumers: Consumer[] = [];
    const name = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

    const consume = (options: Omit<ConsumerOptions, 'handler'> & { handler?: ConsumerOptions['handler'] }) => {
      const received: ConsumedMessage[] = [];
      const consumer = bus.consumer({
        ...options,
        handler: async (m) => {
          await options.handler?.(m);
          received.push(m);
        },
      }) as KafkaConsumer;
      consumers.push(consumer);
      return { consumer, received };
    };
    const json = (m: { value: string }) => JSON.parse(m.value) as Record<string, unknown>;

    beforeAll(async () => {
      bus = new KafkaBus(await busOptions());
      effectsDb = await createTestDatabase('kafka_bus_weak_spots');
      effects = createKnex(effectsDb);
      await runMigrations(effects, 'inbox', inboxMigrations);
    });
    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      await bus?.close();
      await effects?.destroy();
      await effectsDb?.drop();
    });

    it('survives a handler that throws a TypeError: retried, then dead-lettered, and the consumer goes on', async () => {
      const topic = name('type-error');
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const groupId = name('g');
      let firstTry = true;
      const { consumer, received } = consume({
        groupId,
        topics: [topic],
        retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
        handler: async (m) => {
          const body = json(m);
          if (body.flaky && firstTry) {
            firstTry = false;
            (undefined as unknown as { boom(): void }).boom();
          }
          if (body.broken) (null as unknown as { boom(): void }).boom();
        },
      });
      const dead = consume({ groupId: name('dlq-reader'), topics: [`${groupId}.dead-letter`] });
      await consumer.start();
      await dead.consumer.start();
      await bus.publish([1, 2, 3].map((n) => ({ topic, key: 'k', value: JSON.stringify({ n, flaky: n === 1, broken: n === 2 }) })));
      await waitFor(() => received.length === 2 && dead.received.length === 1, 20_000);

      expect(received.map((m) => [json(m).n, m.attempt])).toEqual([
        [1, 2],
        [3, 1],
      ]);
      expect(dead.received[0]!.headers).toMatchObject({ [DEAD_LETTER_HEADERS.errorName]: 'TypeError', [DEAD_LETTER_HEADERS.attempts]: '3' });
      expect(consumer.crashes).toBe(0);
      expect(consumer.healthy()).toBe(true);
      await bus.publish([{ topic, key: 'k', value: JSON.stringify({ n: 4 }) }]);
      await waitFor(() => received.length === 3);
    });

    it('detects a kafkajs consumer that crashed for good (readiness red) and brings it back by itself', async () => {
      // An honest fatal crash: the dead-letter topic refuses the record as too
      // large, a non-retriable broker error, so kafkajs crashes the consumer
      // with restart:false. An operator then fixes the topic.
      const topic = name('fatal');
      const groupId = name('g');
      const deadLetterTopic = `${groupId}.dead-letter`;
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const admin = bus.kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: deadLetterTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '100' }] }],
        });
        const { consumer, received } = consume({
          groupId,
          topics: [topic],
          handler: async (m) => {
            if (json(m).poison) throw new NonRetriableError('cannot digest this');
          },
        });
        const readiness = consumerReadiness('fatal', consumer);
        await bus.publish([
          { topic, key: 'k', value: JSON.stringify({ poison: true }) },
          { topic, key: 'k', value: JSON.stringify({ n: 2 }) },
        ]);
        await consumer.start();

        await waitFor(() => consumer.crashes >= 1 && !consumer.healthy(), 20_000);
        expect(consumer.status().state).toBe('reconnecting');
        expect(consumer.status().lastError).toMatch(/larger than the max message size/);
        await expect(readiness.check()).rejects.toThrow(/consumer fatal is reconnecting/);
        expect(received).toHaveLength(0);

        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: deadLetterTopic, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }],
        });
        await waitFor(() => received.length === 1 && consumer.healthy(), 30_000);
        await expect(readiness.check()).resolves.toBeUndefined();
        // Brought back by the adapter: kafkajs does not restart after a non-retriable error.
        expect(consumer.restarts).toBeGreaterThanOrEqual(1);
        expect(json(received[0]!)).toEqual({ n: 2 });
        expect(consumer.status().deadLettered).toBe(1);
      } finally {
        await admin.disconnect();
      }
    });

    it('keeps a member whose handler outlasts the session: heartbeats go on while it runs', async () => {
      const topic = name('long');
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const { consumer, received } = consume({
        groupId: name('g'),
        topics: [topic],
        handler: async (m) => {
          if (json(m).slow) await new Promise((r) => setTimeout(r, SESSION_TIMEOUT_MS + 2_000));
        },
      });
      await consumer.start();
      const memberId = consumer.status().memberId;
      await bus.publish([
        { topic, key: 'k', value: JSON.stringify({ n: 1, slow: true }) },
        { topic, key: 'k', value: JSON.stringify({ n: 2 }) },
      ]);
      await waitFor(() => received.length === 2, 30_000);
      expect(received.map((m) => [json(m).n, m.attempt])).toEqual([
        [1, 1],
        [2, 1],
      ]);
      expect(consumer.status().memberId).toBe(memberId);
      expect(consumer.crashes).toBe(0);
    });

    it('loses nothing when a handler blocks the process past the session: the member is expelled, the redelivery is absorbed by the inbox', async () => {
      const topic = name('blocked');
      await bus.createTopics([{ name: topic, partitions: 1 }]);
      const groupId = name('g');
      const ids = Array.from({ length: 5 }, () => randomUUID());
      const blockOn = ids[1]!;
      const deliveries: string[] = [];
      let blocked = false;
      const { consumer } = consume({
        groupId,
        topics: [topic],
        handler: async (m) => {
          const env = decodeEnvelope(m);
          deliveries.push(env.id);
          await handleOnce(effects, groupId, env.id, async () => undefined);
          if (env.id === blockOn && !blocked) {
            blocked = true;
            // Synchronous: not even the heartbeat timer runs, as with a CPU-bound handler.
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SESSION_TIMEOUT_MS + 2_000);
          }
        },
      });
      await consumer.start();
      const memberId = consumer.status().memberId;
      await bus.publish(
        ids.map((id) =>
          encodeEnvelope(envelope({ id, source: 'test', type: 'test.happened', schemaversion: 1, correlationid: id, data: {} }), { topic, key: 'k' }),
        ),
      );
      await waitFor(() => ids.every((id) => deliveries.includes(id)) && consumer.healthy(), 30_000);
      expect(deliveries.filter((id) => id === blockOn).length).toBe(2);
      expect(consumer.status().memberId).not.toBe(memberId);
      const applied = (await effects('inbox_messages').where({ consumer: groupId }).select('message_id')) as { message_id: string }[];
      expect(applied.map((r) => r.message_id).sort()).toEqual([...ids].sort());
    });

    it('redelivers at most the message in hand per partition when the group rebalances under load', async () => {
      const topic = name('rebalance');
      const partitions = 4;
      await bus.createTopics([{ name: topic, partitions }]);
      const groupId = name('g');
      const deliveries = new Map<number, number>();
      const handler = async (m: ConsumedMessage) => {
        const { i } = json(m) as { i: number };
        deliveries.set(i, (deliveries.get(i) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      };
      const a = bus.consumer({ groupId, topics: [topic], handler });
      consumers.push(a);
      await a.start();
      const total = 600;
      await bus.publish(Array.from({ length: total }, (_, i) => ({ topic, key: `k${i % 40}`, value: JSON.stringify({ i }) })));
      await waitFor(() => deliveries.size >= 100, 20_000);

      const otherBus = new KafkaBus(await busOptions());
      try {
        const b = otherBus.consumer({ groupId, topics: [topic], handler });
        await b.start(); // first rebalance: the partitions are shared
        await waitFor(() => b.status().handled >= 50, 20_000);
        await b.stop(); // second: they all go back to a
      } finally {
        await otherBus.close();
      }
      await waitFor(() => deliveries.size === total, 30_000);
      const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0);
      expect(duplicates).toBeLessThanOrEqual(2 * partitions);
      expect(a.healthy()).toBe(true);
    });

    it('puts a key on the partition kafkajs and the Java client choose (murmur2), for 1,000 keys', async () => {
      const keys = Array.from({ length: 1_000 }, (_, i) => `order-${i}-${randomUUID()}`);
      const partitionMetadata = (n: number): PartitionMetadata[] =>
        Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
      const kafkajsPartition = Partitioners.DefaultPartitioner();
      for (const n of [1, 3, 8, 12]) {
        for (const key of keys) {
          expect(kafkajsPartition({ topic: 't', partitionMetadata: partitionMetadata(n), message: { key, value: null } })).toBe(
            partitionForKey(key, n),
          );
        }
      }

      // On the broker: a plain kafkajs producer lets its partitioner choose.
      const topic = name('partitioner');
      await bus.createTopics([{ name: topic, partitions: 8 }]);
      const producer = bus.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
      } finally {
        await producer.disconnect();
      }
      const { consumer, received } = consume({ groupId: name('g'), topics: [topic] });
      await consumer.start();
      await waitFor(() => received.length === keys.length, 30_000);
      for (const m of received) expect(m.partition).toBe(partitionForKey(m.key, 8));
      expect(new Set(received.map((m) => m.partition)).size).toBe(8);
    });

    it('carries the CloudEvents attributes as ce_* headers of the Kafka record (binary binding), unchanged', async () => {
      const topic = name('cloudevents');
      const original = envelope({
        id: randomUUID(),
        source: 'order-service',
        type: 'order.placed',
        subject: 'order-42',
        schemaversion: 2,
        correlationid: randomUUID(),
        causationid: randomUUID(),
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'shop=1',
        data: { orderId: 'order-42', lines: [{ sku: 'A', quantity: 2 }], note: 'ünïcödé ✓' },
      });
      const message = encodeEnvelope(original, { topic, key: 'order-42' });
      await bus.publish([message]);

      const raw = bus.kafka.consumer({ groupId: name('raw'), sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: HEARTBEAT_INTERVAL_MS, maxWaitTimeInMs: MAX_WAIT_MS });
      const records: { key: string; value: string; headers: Record<string, string> }[] = [];
      await raw.connect();
      try {
        await raw.subscribe({ topics: [topic], fromBeginning: true });
        await raw.run({
          eachMessage: async ({ message: r }) => {
            const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, String(v)]));
            records.push({ key: String(r.key), value: String(r.value), headers });
          },
        });
        await waitFor(() => records.length === 1);
      } finally {
        await raw.disconnect();
      }
      expect(records[0]).toEqual({ key: 'order-42', value: message.value, headers: message.headers });
      expect(Object.keys(records[0]!.headers).sort()).toEqual(
        [
          'content-type',
          'ce_specversion',
          'ce_id',
          'ce_source',
          'ce_type',
          'ce_subject',
          'ce_time',
          'ce_schemaversion',
          'ce_correlationid',
          'ce_causationid',
          'ce_traceparent',
          'ce_tracestate',
        ].sort(),
      );

      const { consumer, received } = consume({ groupId: name('g'), topics: [topic] });
      await consumer.start();
      await waitFor(() => received.length === 1);
      expect(received[0]!.headers).toEqual(message.headers);
      expect(decodeEnvelope(received[0]!)).toEqual(original);
    });

    it('creates topics idempotently and grows one to a larger partition count', async () => {
      const topic = name('grow');
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      await bus.createTopics([{ name: topic, partitions: 2 }]);
      expect(await bus.partitionsOf(topic)).toBe(2);
      await bus.createTopics([{ name: topic, partitions: 5 }]);
      expect(await bus.partitionsOf(topic)).toBe(5);
      await bus.createTopics([{ name: topic, partitions: 3 }]);
      expect(await bus.partitionsOf(topic)).toBe(5);
      await expect(bus.createTopics([{ name: 'not a topic!', partitions: 1 }])).rejects.toThrow(/invalid topic name/);
    });

    it('answers ping while the broker is up, and fails it quickly when no broker answers', async () => {
      await bus.ping();
      const nowhere = new KafkaBus({ brokers: ['127.0.0.1:1'], logger: pino({ level: 'silent' }), pingTimeoutMs: 500 });
      try {
        await expect(nowhere.ping()).rejects.toThrow();
      } finally {
        await nowhere.close();
      }
    });
  });
});
