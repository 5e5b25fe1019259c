/**
 * npm run bench:bus [-- --messages 20000 --rate 500 --seconds 5]
 *
 * Publish-to-handle on the Postgres bus, for one consumer and for a group of
 * two, next to a baseline measured in the same run on the same server: the
 * classic Postgres work queue (INSERT; workers DELETE ... FOR UPDATE SKIP
 * LOCKED, woken by LISTEN/NOTIFY). The queue has no partitions, no order per
 * key, no replay and no consumer groups; it is the floor a log-based bus pays
 * for those.
 *
 * Two phases per setup: throughput (publish `--messages` as fast as 4
 * publishers can, in batches of 10; messages/s until the last is handled) and
 * latency (publish at `--rate` messages/s for `--seconds`; p50/p99 from
 * publish to handle). Prints JSON; ratios are bus / queue.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { EmbeddedPostgresServer, PgNotifier, PostgresBus, createKnex, migrateBus, provisionDatabase } from '../src/index';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
  },
});
const MESSAGES = Number(values.messages);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const PUBLISHERS = 4;
const BATCH = 10;

interface Setup {
  publish(batch: { key: string; sentAt: number }[]): Promise<void>;
  /** Starts `workers` consumers calling `onMessage`; returns a stop function. */
  consume(workers: number, onMessage: (sentAt: number) => void): Promise<() => Promise<void>>;
  reset(): Promise<void>;
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

function busSetup(conn: pg.ClientConfig): Setup {
  const publisher = new PostgresBus({ connection: conn });
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
      const clients = Array.from({ length: workers }, () => new PostgresBus({ connection: conn, heartbeatMs: 200 }));
      const consumers = clients.map((c) =>
        c.consumer({
          groupId: `bench-group-${round}`,
          topics: [topic()],
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

async function main(): Promise<void> {
  const dataDir = path.join(os.tmpdir(), `shop-bench-bus-${process.pid}`, 'data');
  const server = new EmbeddedPostgresServer({ dataDir, reset: true });
  const admin = await server.start();
  try {
    const conn = await provisionDatabase(admin, 'bench_bus');
    const knex = createKnex(conn);
    await migrateBus(knex);
    await knex.raw('create table bench_queue (id bigserial primary key, key text not null, payload text not null)');
    await knex.destroy();
    const bus = busSetup(conn);
    const queue = queueSetup(conn);
    const results = [];
    for (const workers of [1, 2]) {
      const busTp = await throughput(bus, workers);
      const queueTp = await throughput(queue, workers);
      const busLat = await latency(bus, workers);
      const queueLat = await latency(queue, workers);
      results.push({
        consumers: workers,
        throughput: { busMessagesPerSecond: busTp, queueMessagesPerSecond: queueTp, ratio: round(busTp / queueTp) },
        latencyAtRate: {
          ratePerSecond: RATE,
          bus: busLat,
          queue: queueLat,
          p99Ratio: round(busLat.p99Ms / Math.max(1, queueLat.p99Ms)),
        },
      });
      process.stderr.write(`consumers=${workers} done\n`);
    }
    console.log(
      JSON.stringify(
        {
          benchmark: 'bus',
          adapter: 'postgres',
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
    await server.stop();
  }
}

await main();
// Pools of the measured clients may still hold idle timers; the run is over.
process.exit(0);
