import { Kafka, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import { pino, type Logger } from 'pino';
import type { Bus, Consumer, ConsumerOptions, OutgoingMessage, PartitionLag, PublishedMessage, TopicSpec } from '../bus';
import { partitionForKey } from '../partitioner';
import { KafkaConsumer } from './kafka-consumer';
import { kafkaLogLevel, pinoLogCreator } from './kafka-logging';

export interface KafkaBusOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  clientId?: string;
  /** Partitions of a topic created implicitly, by a first publish or subscribe. */
  defaultPartitions?: number;
  replicationFactor?: number;
  /** A member that sends no heartbeat this long is dropped from its group (the broker bounds it: 6 s to 30 min by default). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long the group waits for every member to rejoin during a rebalance. */
  rebalanceTimeoutMs?: number;
  /** Longest fetch wait: heartbeats go out between fetches, so this also bounds how late a member notices a rebalance. */
  maxWaitTimeMs?: number;
  /** Partitions a consumer works at the same time (each one still in offset order). */
  partitionsConsumedConcurrently?: number;
  /** Backoff of the consumer's own restart after kafkajs gave up on it. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** How long `ping` waits for the cluster to answer. */
  pingTimeoutMs?: number;
  /** How long a topic's partition count is trusted before it is looked up again. */
  metadataMaxAgeMs?: number;
  /** Where the adapter and kafkajs log (kafkajs at warn and above unless the logger is more verbose). */
  logger?: Logger;
}

export interface KafkaBusSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  maxWaitTimeMs: number;
  partitionsConsumedConcurrently: number;
  restartBackoff: { initialMs: number; maxMs: number };
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * The Bus port on Apache Kafka, through kafkajs.
 *
 * Publishing goes through one idempotent producer (acks from all in-sync
 * replicas, one request in flight per broker), so a retried send cannot
 * duplicate or reorder a partition's messages. The partition of each message
 * is chosen here with the platform's murmur2 partitioner, which is Kafka's
 * (and kafkajs' DefaultPartitioner's) own: knowing it is what lets `publish`
 * return each message's offset from the per-partition base offsets.
 */
export class KafkaBus implements Bus {
  readonly system = 'kafka';
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly settings: KafkaBusSettings;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private adminConnected: Promise<void> | undefined;
  private producerConnected: Promise<void> | undefined;
  private pinging: Promise<void> | undefined;
  private readonly partitionCounts = new Map<string, { count: Promise<number>; at: number }>();
  private readonly consumers = new Set<KafkaConsumer>();
  private readonly defaultPartitions: number;
  private readonly replicationFactor: number;
  private readonly pingTimeoutMs: number;
  private readonly metadataMaxAgeMs: number;
  private closed = false;

  constructor(readonly options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaBus needs at least one broker');
    this.logger = options.logger ?? pino({ name: 'kafka-bus', level: 'warn' });
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'shop',
      brokers: options.brokers,
      logLevel: kafkaLogLevel(this.logger),
      logCreator: pinoLogCreator(this.logger),
      // No client-level `retry`: producers inherit it, and a bounded retry count
      // weakens the idempotent producer (kafkajs warns about it).
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Named explicitly: Java-compatible murmur2, the same mapping as `partitionForKey`.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    this.defaultPartitions = options.defaultPartitions ?? 8;
    this.replicationFactor = options.replicationFactor ?? 1;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? 300_000;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.settings = {
      sessionTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(1_000, Math.floor(sessionTimeoutMs / 3)),
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 500,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      restartBackoff: options.restartBackoff ?? { initialMs: 500, maxMs: 30_000 },
    };
  }

  /**
   * Creates the topics that do not exist. A topic that exists with fewer
   * partitions than its spec is grown to the spec (Kafka cannot shrink one).
   * Growing moves keys to other partitions, so per-key order holds only for
   * messages published after the change; it is logged.
   */
  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const t of topics) validateSpec(t);
    if (topics.length === 0) return;
    await this.createMissing(topics);
    const meta = await this.adminClient().then((a) => a.fetchTopicMetadata({ topics: topics.map((t) => t.name) }));
    const grow = topics.flatMap((t) => {
      const have = meta.topics.find((m) => m.name === t.name)?.partitions.length ?? 0;
      return have < t.partitions ? [{ topic: t.name, count: t.partitions, from: have }] : [];
    });
    if (grow.length > 0) {
      this.logger.warn({ topics: grow }, 'growing Kafka topics to their partition count; keys move to other partitions');
      await this.admin.createPartitions({ topicPartitions: grow.map(({ topic, count }) => ({ topic, count })) });
      await this.untilPartitionsVisible(grow);
    }
    for (const t of topics) this.partitionCounts.delete(t.name);
  }

  /**
   * A broker answers metadata requests from its own copy of the cluster
   * metadata, which learns of new partitions a little after `createPartitions`
   * returns: wait until the grown counts show, so a publisher that looks the
   * count up next routes keys over every partition.
   */
  private async untilPartitionsVisible(grown: { topic: string; count: number }[]): Promise<void> {
    const until = Date.now() + 10_000;
    for (;;) {
      const meta = await this.admin.fetchTopicMetadata({ topics: grown.map((g) => g.topic) });
      const behind = grown.filter((g) => (meta.topics.find((m) => m.name === g.topic)?.partitions.length ?? 0) < g.count);
      if (behind.length === 0) return;
      if (Date.now() > until) throw new Error(`Kafka topics ${behind.map((b) => b.topic).join(', ')} did not show their new partitions within 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The topic's partition count, creating the topic with the default count if it does not exist. */
  partitionsOf(topic: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached && Date.now() - cached.at < this.metadataMaxAgeMs) return cached.count;
    const count = this.lookUpPartitions(topic);
    this.partitionCounts.set(topic, { count, at: Date.now() });
    count.catch(() => this.partitionCounts.delete(topic));
    return count;
  }

  private async lookUpPartitions(topic: string): Promise<number> {
    validateSpec({ name: topic, partitions: this.defaultPartitions });
    await this.createMissing([{ name: topic, partitions: this.defaultPartitions }]);
    const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const n = meta.topics[0]?.partitions.length ?? 0;
    if (n < 1) throw new Error(`Kafka topic ${topic} has no partitions`);
    return n;
  }

  private async createMissing(topics: TopicSpec[]): Promise<void> {
    const admin = await this.adminClient();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    // `false` means another client created them first; `fetchTopicMetadata`
    // afterwards waits for their leaders either way.
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: this.replicationFactor })),
    });
  }

  async publish(messages: OutgoingMessage[]): Promise<PublishedMessage[]> {
    if (messages.length === 0) return [];
    const routed: (OutgoingMessage & { partition: number })[] = [];
    for (const m of messages) {
      if (typeof m.key !== 'string' || typeof m.value !== 'string') throw new Error('a message needs a string key and value');
      routed.push({ ...m, partition: partitionForKey(m.key, await this.partitionsOf(m.topic)) });
    }
    const byTopic = new Map<string, Message[]>();
    for (const m of routed) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ key: m.key, value: m.value, partition: m.partition, headers: { ...m.headers } });
      byTopic.set(m.topic, list);
    }
    await this.producerClient();
    const results = await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
    });
    // One record batch per partition per request: its messages take
    // consecutive offsets from the batch's base offset, in the order given.
    const next = new Map<string, number>();
    for (const r of results) {
      if (r.baseOffset === undefined) throw new Error(`Kafka returned no offset for ${r.topicName}/${r.partition}`);
      next.set(`${r.topicName}/${r.partition}`, Number(r.baseOffset));
    }
    return routed.map((m) => {
      const ref = `${m.topic}/${m.partition}`;
      const offset = next.get(ref);
      if (offset === undefined) throw new Error(`Kafka returned no offset for ${ref}`);
      next.set(ref, offset + 1);
      return { topic: m.topic, partition: m.partition, offset };
    });
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = new KafkaConsumer(this, options, () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Commits, for the group, each partition's first retained offset as a
   * number. Not `admin.resetOffsets`: it commits the "earliest" sentinel,
   * which a member then resolves by its own `startFrom`, so a group that
   * starts from the latest would skip the replay. Not `admin.setOffsets`
   * either: it commits only the partitions its member was assigned, and
   * waits a full default fetch (5 s) before leaving. Only an empty group can
   * be moved: joining it here must not take partitions from live members.
   */
  async seekToEarliest(groupId: string, topic: string): Promise<void> {
    await this.partitionsOf(topic);
    const admin = await this.adminClient();
    const offsets = await admin.fetchTopicOffsets(topic);
    const mover = this.kafka.consumer({
      groupId,
      sessionTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: this.settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    await mover.connect();
    try {
      const { state } = await mover.describeGroup();
      if (state !== 'Empty' && state !== 'Dead') {
        throw new Error(`consumer group ${groupId} is ${state}: stop its members before moving its offsets`);
      }
      await mover.subscribe({ topics: [topic] });
      // Joins without handling anything: no offset is resolved, none committed but these.
      await mover.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
      mover.pause([{ topic }]);
      await mover.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: o.low })));
    } finally {
      await mover.disconnect();
    }
  }

  async lag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
    if (topics.length === 0) return [];
    const admin = await this.adminClient();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const committed = await retriable(() => admin.fetchOffsets({ groupId, topics: present }));
    const out: PartitionLag[] = [];
    for (const topic of present) {
      const ends = await admin.fetchTopicOffsets(topic);
      const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const at = Number(group.find((p) => p.partition === end.partition)?.offset ?? -1);
        // -1: nothing committed yet, so everything retained is still to read.
        const from = at < 0 ? Number(end.low) : at;
        out.push({ topic, partition: end.partition, lag: Math.max(0, Number(end.high) - from) });
      }
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  async depth(topic: string): Promise<number> {
    const admin = await this.adminClient();
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.reduce((n, e) => n + Math.max(0, Number(e.high) - Number(e.low)), 0);
  }

  /** One cluster round trip, bounded by `pingTimeoutMs`; concurrent pings share it. */
  async ping(): Promise<void> {
    this.pinging ??= this.adminClient()
      .then((a) => a.describeCluster())
      .then(() => undefined)
      .finally(() => (this.pinging = undefined));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${this.pingTimeoutMs} ms`)), this.pingTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.pinging, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    // Not waiting for a connect still in progress: with no broker it retries for a long while.
    await Promise.all([
      this.producerConnected ? this.producer.disconnect().catch(() => undefined) : undefined,
      this.adminConnected ? this.admin.disconnect().catch(() => undefined) : undefined,
    ]);
  }

  private adminClient(): Promise<Admin> {
    if (this.closed) return Promise.reject(new Error('the Kafka bus is closed'));
    this.adminConnected ??= this.admin.connect().catch((err: unknown) => {
      this.adminConnected = undefined;
      throw err;
    });
    return this.adminConnected.then(() => this.admin);
  }

  private producerClient(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the Kafka bus is closed'));
    this.producerConnected ??= this.producer.connect().catch((err: unknown) => {
      this.producerConnected = undefined;
      throw err;
    });
    return this.producerConnected;
  }
}

/**
 * A call the broker may refuse for a moment (a group's coordinator still
 * loading, a leader moving): tried again up to five times, 200 ms apart.
 */
async function retriable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 5 || (err as { retriable?: unknown })?.retriable !== true) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function validateSpec(t: TopicSpec): void {
  if (!TOPIC_NAME.test(t.name)) throw new Error(`invalid topic name "${t.name}"`);
  if (!Number.isInteger(t.partitions) || t.partitions < 1) throw new Error(`topic ${t.name}: partitions must be >= 1`);
}
