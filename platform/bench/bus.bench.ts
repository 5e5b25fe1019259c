/**
 * npm run bench:bus [-- --messages 20000 --rate 500 --seconds 5 --no-kafka]
 *
 * Publish-to-handle on the Postgres bus and on Kafka (the kafkajs adapter
 * against a real single-node broker started for the run, when Java and
 * Maven are here), for one consumer and for a group of two, next to a
 * baseline measured in the same run on the same server: the
 * classic Postgres work queue (INSERT; workers DELETE ... FOR UPDATE SKIP
 * LOCKED, woken by LISTEN/NOTIFY). The queue has no partitions, no order per
 * key, no replay and no consumer groups; it is the floor a log-based bus pays
 * for those.
 *
 * Two phases per setup: throughput (publish `--messages` as fast as 4
 * publishers can, in batches of 10; messages/s until the last is handled) and
 * latency (publish at `--rate` messages/s for `--seconds`; p50/p99 from
 * publish to handle). For both buses also produce alone (publish `--messages`,
 * nobody consuming) and consume alone (a group reading that backlog from the
 * earliest offset). Prints JSON; ratios are bus / queue and Kafka / Postgres bus.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { KafkaBroker, KafkaUnavailableError } from '../../infra/kafka/kafka-broker';
import { EmbeddedPostgresServer, KafkaBus, PgNotifier, PostgresBus, createKnex, migrateBus, provisionDatabase, type Bus } from '../src/index';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    'no-kafka': { type: 'boolean', default: false },
  },
});
const MESSAGES = Number(values.messages);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const PUBLISHERS = 4;
/** kafkajs' warnings (a group rebalancing, a coordinator loading) go to stderr, so stdout stays JSON. */
const kafkaLog = pino({ name: 'kafka-bus', level: 'error' }, pino.destination(2));
const BATCH = 10;

interface Setup {
  publish(batch: { key: string; sentAt: number }[]): Promise<void>;
  /** Starts `workers` consumers calling `onMessage`; returns a stop function. */
  consume(workers: number, onMessage: (sentAt: number) => void): Promise<() => Promise<void>>;
  reset(): Promise<void>;
}

/** Publishes `MESSAGES` with `PUBLISHERS` concurrent publishers in batches of `BATCH`. */
async function publishAll(setup: Setup): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (next < MESSAGES) {
        const from = next;
        next += BATCH;
        const n = Math.min(BATCH, MESSAGES - from);
        await setup.publish(Array.from({ length: n }, (_, i) => ({ key: `key-${(from + i) % 97}`, sentAt: Date.now() })));
      }
    }),
  );
}

/** Produce alone (messages/s until every publish is acknowledged), then consume that backlog alone from the earliest offset. */
async function produceThenConsume(setup: Setup, workers: number) {
  await setup.reset();
  const start = performance.now();
  await publishAll(setup);
  const produce = Math.round(MESSAGES / ((performance.now() - start) / 1000));
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const consumeStart = performance.now();
  const stop = await setup.consume(workers, () => {
    if (++handled === MESSAGES) done();
  });
  await finished;
  const consume = Math.round(MESSAGES / ((performance.now() - consumeStart) / 1000));
  await stop();
  return { produceMessagesPerSecond: produce, consumeMessagesPerSecond: consume };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function throughput(setup: Setup, workers: number) {
  await setup.reset();
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const stop = await setup.consume(workers, () => {
    if (++handled === MESSAGES) done();
  });
  const start = performance.now();
  await publishAll(setup);
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await stop();
  return Math.round(MESSAGES / seconds);
}

async function latency(setup: Setup, workers: number) {
  await setup.reset();
  const latencies: number[] = [];
  const stop = await setup.consume(workers, (sentAt) => latencies.push(Date.now() - sentAt));
  const total = RATE * SECONDS;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    void setup.publish([{ key: `key-${i % 97}`, sentAt: Date.now() }]);
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { messages: latencies.length, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

/** A setup over the Bus port: `newClient()` gives the publisher and one client per consumer (as separate processes would have). */
function busSetup(newClient: () => Bus): Setup {
  const publisher = newClient();
  let round = 0;
  const topic = () => `bench-${round}`;
  return {
    reset: async () => {
      round++;
      await publisher.createTopics([{ name: topic(), partitions: 8 }]);
    },
    publish: async (batch) => {
      await publisher.publish(batch.map((m) => ({ topic: topic(), key: m.key, value: JSON.stringify({ sentAt: m.sentAt }) })));
    },
    consume: async (workers, onMessage) => {
      const clients = Array.from({ length: workers }, newClient);
      const consumers = clients.map((c) =>
        c.consumer({
          groupId: `bench-group-${round}`,
          topics: [topic()],
          startFrom: 'earliest',
          handler: async (m) => onMessage((JSON.parse(m.value) as { sentAt: number }).sentAt),
        }),
      );
      await Promise.all(consumers.map((c) => c.start()));
      // Let the group settle so that every member works its share.
      const share = Math.ceil(8 / workers);
      while (consumers.some((c) => c.status().partitions.length > share) || consumers.reduce((n, c) => n + c.status().partitions.length, 0) < 8) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        await Promise.all(clients.map((c) => c.close()));
      };
    },
  };
}

function queueSetup(conn: pg.ClientConfig): Setup {
  const pool = new pg.Pool({ ...conn, max: PUBLISHERS + 2 });
  return {
    reset: async () => {
      await pool.query('truncate bench_queue');
    },
    publish: async (batch) => {
      await pool.query(
        `with ins as (insert into bench_queue (key, payload) select * from unnest($1::text[], $2::text[]))
         select pg_notify('bench_queue', '')`,
        [batch.map((m) => m.key), batch.map((m) => JSON.stringify({ sentAt: m.sentAt }))],
      );
    },
    consume: async (workers, onMessage) => {
      const notifier = new PgNotifier(conn, 'bench_queue');
      await notifier.ready();
      const workerPool = new pg.Pool({ ...conn, max: workers });
      let running = true;
      const loops = Array.from({ length: workers }, async () => {
        while (running) {
          const wake = notifier.nextWake();
          const res = await workerPool.query<{ payload: string }>(
            `delete from bench_queue where id in (
               select id from bench_queue order by id for update skip locked limit 200)
             returning payload`,
          );
          for (const row of res.rows) onMessage((JSON.parse(row.payload) as { sentAt: number }).sentAt);
          if (res.rows.length === 0) await Promise.race([wake, new Promise((r) => setTimeout(r, 1_000))]);
        }
      });
      return async () => {
        running = false;
        await notifier.close();
        await Promise.all(loops);
        await workerPool.end();
      };
    },
  };
}

async function measure(setup: Setup, workers: number) {
  return { throughput: await throughput(setup, workers), latency: await latency(setup, workers), alone: await produceThenConsume(setup, workers) };
}

/** A broker for the run in a temporary directory, or why there is none. */
async function startBroker(): Promise<{ broker?: KafkaBroker; skipped?: string }> {
  if (values['no-kafka']) return { skipped: '--no-kafka' };
  const broker = new KafkaBroker({ dataDir: path.join(os.tmpdir(), `shop-bench-kafka-${process.pid}`) });
  try {
    await broker.start();
    return { broker };
  } catch (err) {
    if (err instanceof KafkaUnavailableError) return { skipped: err.message };
    throw err;
  }
}

async function main(): Promise<void> {
  const dataDir = path.join(os.tmpdir(), `shop-bench-bus-${process.pid}`, 'data');
  const server = new EmbeddedPostgresServer({ dataDir, reset: true });
  const admin = await server.start();
  const { broker, skipped } = await startBroker();
  try {
    const conn = await provisionDatabase(admin, 'bench_bus');
    const knex = createKnex(conn);
    await migrateBus(knex);
    await knex.raw('create table bench_queue (id bigserial primary key, key text not null, payload text not null)');
    await knex.destroy();
    const bus = busSetup(() => new PostgresBus({ connection: conn, heartbeatMs: 200 }));
    const queue = queueSetup(conn);
    const kafka = broker
      ? busSetup(() => new KafkaBus({ brokers: [broker.brokers], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 100, logger: kafkaLog }))
      : undefined;
    const results = [];
    for (const workers of [1, 2]) {
      const postgresBus = await measure(bus, workers);
      const queueTp = await throughput(queue, workers);
      const queueLat = await latency(queue, workers);
      const kafkaBus = kafka ? await measure(kafka, workers) : undefined;
      results.push({
        consumers: workers,
        queue: { throughput: queueTp, latency: queueLat },
        postgresBus: {
          ...postgresBus,
          throughputRatioToQueue: round(postgresBus.throughput / queueTp),
          p99RatioToQueue: round(postgresBus.latency.p99Ms / Math.max(1, queueLat.p99Ms)),
        },
        ...(kafkaBus
          ? {
              kafka: {
                ...kafkaBus,
                throughputRatioToPostgresBus: round(kafkaBus.throughput / postgresBus.throughput),
                produceRatioToPostgresBus: round(kafkaBus.alone.produceMessagesPerSecond / postgresBus.alone.produceMessagesPerSecond),
                consumeRatioToPostgresBus: round(kafkaBus.alone.consumeMessagesPerSecond / postgresBus.alone.consumeMessagesPerSecond),
                throughputRatioToQueue: round(kafkaBus.throughput / queueTp),
              },
            }
          : {}),
      });
      process.stderr.write(`consumers=${workers} done\n`);
    }
    console.log(
      JSON.stringify(
        {
          benchmark: 'bus',
          adapters: ['postgres', ...(kafka ? ['kafka'] : [])],
          ...(skipped ? { kafkaSkipped: skipped } : {}),
          machine: { cpus: os.cpus().length, node: process.version },
          messages: MESSAGES,
          publishers: PUBLISHERS,
          publishBatch: BATCH,
          partitions: 8,
          results,
        },
        null,
        2,
      ),
    );
  } finally {
    await broker?.stop();
    await server.stop();
  }
}

await main();
// Pools of the measured clients may still hold idle timers; the run is over.
process.exit(0);
