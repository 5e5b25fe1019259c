import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipKafkaTests, waitFor } from '@shop/platform/testing';
import { KafkaBroker, kafkaBrokerPids, preferredPort } from '../kafka/kafka-broker';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const skipped = skipKafkaTests('Kafka broker script tests');

const TOPIC = 'broker-script-orders';

function client(brokers: string): Kafka {
  return new Kafka({ clientId: 'broker-script-test', brokers: [brokers], logLevel: logLevel.NOTHING });
}

/** Reads the first record a new member of `groupId` gets from `TOPIC`, and commits past it. */
async function consumeOne(brokers: string, groupId: string): Promise<{ key: string; value: string; partition: number; offset: string }> {
  const consumer = client(brokers).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const received = new Promise<{ key: string; value: string; partition: number; offset: string }>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
          resolve({ key: message.key!.toString(), value: message.value!.toString(), partition, offset: message.offset });
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${groupId} got no record within 30 s`)), 30_000)));
    return await Promise.race([received, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
}

async function committedOffset(brokers: string, groupId: string, partition: number): Promise<string | undefined> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    // Right after a start the broker is still loading __consumer_offsets, and
    // kafkajs' admin does not retry "The coordinator is loading" itself.
    for (let attempt = 1; ; attempt++) {
      try {
        const [topic] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
        return topic?.partitions.find((p) => p.partition === partition)?.offset;
      } catch (err) {
        if (!(err as { retriable?: boolean }).retriable || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** The CLI (`npm run kafka -- start`) as its own process, resolved once it prints that the broker is ready. */
async function startCli(dataDir: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/kafka/kafka-cli.ts', 'start', '--data-dir', dataDir, '--port', String(port)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(() => output.includes(`ready on 127.0.0.1:${port}`) || child.exitCode !== null, 120_000);
  if (child.exitCode !== null) throw new Error(`the CLI exited (${child.exitCode}):\n${output}`);
  return { child, output: () => output };
}

function watchdogPids(dataDir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        return args.includes('kafka-broker-watchdog') && args.includes(dataDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(skipped)('the Kafka broker script (infra/kafka/kafka-broker.ts)', () => {
  let dir: string;
  let dataDir: string;
  let broker: KafkaBroker;
  let produced: { partition: number; offset: string };
  const extraBrokers: KafkaBroker[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-kafka-broker-test-'));
    dataDir = path.join(dir, 'data');
    // A stop that needs SIGKILL (after 10 s) shows up as a signal in stop()'s result.
    broker = new KafkaBroker({ dataDir, stopTimeoutMs: 10_000 });
    await broker.start();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([broker, ...extraBrokers].map((b) => b?.kill()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs a KRaft broker that kafkajs can create a topic on, produce to and consume from', async () => {
    expect(broker.brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    const kafka = client(broker.brokers);
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics;
    expect(metadata?.partitions).toHaveLength(3);
    // auto.create.topics.enable=false: producing to an unknown topic fails instead of creating it.
    const stray = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await stray.connect();
    await expect(stray.send({ topic: 'nobody-created-this', messages: [{ value: 'x' }] })).rejects.toThrow(/does not host this topic-partition/);
    await stray.disconnect();
    expect(await admin.listTopics()).not.toContain('nobody-created-this');
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();

    const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'order-1', value: 'OrderPlaced' }] });
    await producer.disconnect();
    produced = { partition: meta!.partition, offset: meta!.baseOffset! };

    const record = await consumeOne(broker.brokers, 'first-reader');
    expect(record).toEqual({ key: 'order-1', value: 'OrderPlaced', partition: produced.partition, offset: produced.offset });
    expect(await committedOffset(broker.brokers, 'first-reader', produced.partition)).toBe(String(Number(produced.offset) + 1));
  });

  it('stops on SIGTERM with a clean shutdown, leaving no JVM', async () => {
    const pid = broker.pid!;
    const logBefore = (await fs.stat(broker.logFile)).size;
    const result = await broker.stop();
    // The JVM's own exit after its shutdown hook (128 + SIGTERM), not the SIGKILL that follows 10 s of waiting.
    expect(result).toMatchObject({ code: 143, signal: null });
    const log = (await fs.readFile(broker.logFile)).subarray(logBefore).toString();
    expect(log).toContain('[BrokerServer id=1] shut down completed');
    expect(log).toContain('[SharedServer id=1] Stopping SharedServer');
    expect(kafkaBrokerPids(dataDir)).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(fs.access(broker.pidFile)).rejects.toThrow();
  });

  it('starts again on the same data directory and port with the topic, the record and the committed offset kept', async () => {
    const before = broker.brokers;
    await broker.start();
    expect(broker.brokers).toBe(before);
    expect(kafkaBrokerPids(dataDir)).toEqual([broker.pid]);
    expect(await committedOffset(broker.brokers, 'first-reader', produced.partition)).toBe(String(Number(produced.offset) + 1));
    const record = await consumeOne(broker.brokers, 'second-reader');
    expect(record).toEqual({ key: 'order-1', value: 'OrderPlaced', ...produced });
  });

  it('starts again after a SIGKILL, with the data intact', async () => {
    const killed = broker.pid!;
    await broker.kill();
    expect(kafkaBrokerPids(dataDir)).toEqual([]);
    // The controller refuses the new registration until the killed one's session (9 s) expires.
    await broker.start();
    expect(broker.pid).not.toBe(killed);
    const record = await consumeOne(broker.brokers, 'third-reader');
    expect(record).toEqual({ key: 'order-1', value: 'OrderPlaced', ...produced });
    await broker.stop();
  });

  it('leaves no JVM behind when the process that started it is SIGKILLed', async () => {
    const cliData = path.join(dir, 'cli-data');
    const { child } = await startCli(cliData, await preferredPort(0));
    children.push(child);
    const [jvm] = kafkaBrokerPids(cliData);
    expect(jvm).toBeGreaterThan(0);
    child.kill('SIGKILL');
    // The watchdog sees the parent's pipe close and stops the broker.
    await waitFor(() => kafkaBrokerPids(cliData).length === 0 && watchdogPids(cliData).length === 0, 40_000);
    expect(() => process.kill(jvm!, 0)).toThrow();
  });

  it('stops a broker orphaned on the same data directory (parent and watchdog gone) before starting', async () => {
    const cliData = path.join(dir, 'cli-data');
    const port = await preferredPort(0);
    const { child } = await startCli(cliData, port);
    children.push(child);
    const [orphan] = kafkaBrokerPids(cliData);
    for (const pid of watchdogPids(cliData)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000);
    expect(kafkaBrokerPids(cliData)).toEqual([orphan]);

    const next = new KafkaBroker({ dataDir: cliData, port });
    extraBrokers.push(next);
    await next.start();
    expect(() => process.kill(orphan!, 0)).toThrow();
    expect(kafkaBrokerPids(cliData)).toEqual([next.pid]);
    expect((await next.stop()).code).toBe(143);
  });
});
