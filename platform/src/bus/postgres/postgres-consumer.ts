import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  deliverWithRetries,
  retryPolicy,
  type DeliveryOutcome,
  type ConsumedMessage,
  type Consumer,
  type ConsumerOptions,
  type ConsumerState,
  type ConsumerStatus,
  type RetryPolicy,
} from '../bus';
import type { PostgresBus } from './postgres-bus';

interface PartitionRef {
  topic: string;
  partition: number;
}

interface MessageRow {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  published_at: Date;
}

const refKey = (r: PartitionRef) => `${r.topic}/${r.partition}`;

/**
 * A member of a consumer group on the Postgres bus.
 *
 * Ownership of a partition is a session advisory lock held on this member's
 * own connection: at most one member of a group works a partition at a time,
 * and when a member dies its connection closes and the locks go with it, so
 * another member takes over without waiting for anything else. Members
 * heartbeat into `bus_group_members`; each computes its fair share from the
 * live members (round-robin over the sorted partitions) and gives up or takes
 * partitions to match. Within a partition, messages are handled one at a
 * time, in offset order; the committed offset moves only past messages that
 * were handled or dead-lettered.
 */
export class PostgresConsumer implements Consumer {
  readonly memberId = randomUUID();
  private state: ConsumerState = 'idle';
  private lockClient: pg.Client | undefined;
  /** Bumped whenever the lock connection is lost: workers of an older epoch must not commit. */
  private epoch = 0;
  private readonly workers = new Map<string, PartitionWorker>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private readonly retry: RetryPolicy;
  /** The lock connection runs one query at a time: heartbeats, lock changes and unlocks queue here. */
  private lockQueue: Promise<unknown> = Promise.resolve();
  readonly deadLetterTopic: string;
  handled = 0;
  deadLettered = 0;
  lastError: string | undefined;

  constructor(
    readonly bus: PostgresBus,
    readonly options: ConsumerOptions,
    private readonly onStopped: () => void,
  ) {
    this.retry = retryPolicy(options.retry);
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.groupId}.dead-letter`;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    for (const topic of this.options.topics) await this.bus.partitionsOf(topic);
    await this.bus.notifier.ready();
    await this.connect();
    this.state = this.paused ? 'paused' : 'running';
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.bus.settings.heartbeatMs);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      ...this.bus.options.connection,
      application_name: `bus-consumer ${this.options.groupId} ${this.memberId}`.slice(0, 63),
    });
    client.on('error', () => this.lostConnection(client));
    client.on('end', () => this.lostConnection(client));
    await client.connect();
    this.lockClient = client;
  }

  private lockQuery<R extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    const run = this.lockQueue.then(() => client.query<R>(sql, params));
    this.lockQueue = run.catch(() => undefined);
    return run;
  }

  private lostConnection(client: pg.Client): void {
    if (this.lockClient !== client) return;
    // Every lock went with the connection: stop working partitions at once,
    // without committing, since another member may already own them.
    this.lockClient = undefined;
    this.epoch++;
    for (const w of this.workers.values()) w.abandon();
    this.workers.clear();
    if (this.state === 'running' || this.state === 'paused') this.state = 'reconnecting';
  }

  private tick(): Promise<void> {
    this.ticking ??= this.rebalance()
      .catch((err: unknown) => {
        this.lastError = `rebalance: ${(err as Error).message}`;
      })
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async rebalance(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    if (!this.lockClient) {
      await this.connect();
      this.state = this.paused ? 'paused' : 'running';
    }
    const client = this.lockClient!;
    const { groupId } = this.options;
    const { sessionTimeoutMs } = this.bus.settings;
    await this.lockQuery(
      client,
      `insert into bus_group_members (group_id, member_id) values ($1, $2)
       on conflict (group_id, member_id) do update set heartbeat_at = now()`,
      [groupId, this.memberId],
    );
    await this.lockQuery(
      client,
      `delete from bus_group_members where group_id = $1 and heartbeat_at < now() - make_interval(secs => $2::float / 1000)`,
      [groupId, sessionTimeoutMs],
    );
    const members = (
      await this.lockQuery<{ member_id: string }>(
        client,
        'select member_id from bus_group_members where group_id = $1 order by member_id',
        [groupId],
      )
    ).rows.map((r) => r.member_id);
    const me = Math.max(0, members.indexOf(this.memberId));
    const all: PartitionRef[] = [];
    for (const topic of [...this.options.topics].sort()) {
      const n = await this.bus.partitionsOf(topic);
      for (let p = 0; p < n; p++) all.push({ topic, partition: p });
    }
    const desired = new Map(all.filter((_, i) => i % Math.max(1, members.length) === me).map((r) => [refKey(r), r]));

    for (const [key, worker] of this.workers) {
      if (!desired.has(key)) {
        this.workers.delete(key);
        void worker.release();
      }
    }
    for (const [key, ref] of desired) {
      // stop() may have run while this tick awaited.
      if (this.workers.has(key) || (this.state as ConsumerState) === 'stopped') continue;
      const got = await this.lockQuery<{ ok: boolean }>(client, 'select pg_try_advisory_lock(hashtext($1), hashtext($2)) as ok', [
        groupId,
        key,
      ]);
      if (!got.rows[0]!.ok) continue; // the previous owner has not let go yet; next tick
      const worker = new PartitionWorker(this, ref, this.epoch);
      this.workers.set(key, worker);
      worker.start();
    }
  }

  /** Releases a partition lock once its worker has stopped (same connection that took it). */
  async unlock(ref: PartitionRef, epoch: number): Promise<void> {
    if (epoch !== this.epoch || !this.lockClient) return;
    await this.lockQuery(this.lockClient, 'select pg_advisory_unlock(hashtext($1), hashtext($2))', [
      this.options.groupId,
      refKey(ref),
    ]).catch(() => undefined);
  }

  /** Whether a worker of `epoch` still owns its partition; true while `stop` releases the workers, so they commit. */
  isCurrent(epoch: number): boolean {
    return epoch === this.epoch && this.lockClient !== undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  waitForResume(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((r) => this.resumeWaiters.push(r));
  }

  get retryPolicy(): RetryPolicy {
    return this.retry;
  }

  pause(): void {
    this.paused = true;
    if (this.state === 'running') this.state = 'paused';
  }

  resume(): void {
    this.paused = false;
    if (this.state === 'paused') this.state = 'running';
    for (const r of this.resumeWaiters.splice(0)) r();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state !== 'idle';
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    for (const r of this.resumeWaiters.splice(0)) r();
    await Promise.all([...this.workers.values()].map((w) => w.release()));
    this.workers.clear();
    const client = this.lockClient;
    this.lockClient = undefined;
    if (client && wasStarted) {
      await this.lockQuery(client, 'delete from bus_group_members where group_id = $1 and member_id = $2', [
        this.options.groupId,
        this.memberId,
      ]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    this.onStopped();
  }

  status(): ConsumerStatus {
    return {
      state: this.state,
      memberId: this.memberId,
      partitions: [...this.workers.values()].map((w) => w.ref).sort((a, b) => refKey(a).localeCompare(refKey(b))),
      handled: this.handled,
      deadLettered: this.deadLettered,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  healthy(): boolean {
    return (this.state === 'running' || this.state === 'paused') && this.lockClient !== undefined;
  }
}

/** Works one partition for its consumer: fetch, handle in order, commit. */
class PartitionWorker {
  private running = true;
  private done: Promise<void> = Promise.resolve();
  private signalStop!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.signalStop = resolve));

  constructor(
    private readonly consumer: PostgresConsumer,
    readonly ref: PartitionRef,
    private readonly epoch: number,
  ) {}

  start(): void {
    this.done = this.run().catch((err: unknown) => {
      this.consumer.lastError = `${this.ref.topic}/${this.ref.partition}: ${(err as Error).message}`;
    });
  }

  /** Stops after the message in hand, commits, then unlocks the partition. */
  async release(): Promise<void> {
    this.running = false;
    this.signalStop();
    await this.done;
    await this.consumer.unlock(this.ref, this.epoch);
  }

  /** The lock is already gone: stop without committing. */
  abandon(): void {
    this.running = false;
    this.signalStop();
  }

  private async run(): Promise<void> {
    const { bus, options } = this.consumer;
    const pool = bus.pool;
    const { groupId } = options;
    const { topic, partition } = this.ref;
    // A group that never committed on this partition starts at the earliest
    // retained message, or at the end if asked to.
    await pool.query(
      `insert into bus_group_offsets (group_id, topic, partition, committed)
       values ($1, $2, $3, case when $4 = 'latest'
         then (select next_offset from bus_partitions where topic = $2 and partition = $3)
         else coalesce((select min("offset") from bus_messages where topic = $2 and partition = $3), 0) end)
       on conflict do nothing`,
      [groupId, topic, partition, options.startFrom ?? 'earliest'],
    );
    let committed = Number(
      (
        await pool.query<{ committed: string }>(
          'select committed from bus_group_offsets where group_id = $1 and topic = $2 and partition = $3',
          [groupId, topic, partition],
        )
      ).rows[0]!.committed,
    );
    let position = committed;
    const marker = `,${topic}/${partition},`;
    const matchesPartition = (payload: string) => payload.includes(marker);

    const commit = async () => {
      if (position === committed || !this.consumer.isCurrent(this.epoch)) return;
      await pool.query(
        `update bus_group_offsets set committed = $4, updated_at = now()
         where group_id = $1 and topic = $2 and partition = $3 and committed < $4`,
        [groupId, topic, partition, position],
      );
      committed = position;
    };

    while (this.running) {
      if (this.consumer.isPaused) {
        await commit();
        await Promise.race([this.consumer.waitForResume(), this.stopSignal()]);
        continue;
      }
      const wake = bus.notifier.nextWakeFor(matchesPartition);
      const rows = (
        await pool.query<MessageRow>(
          `select topic, partition, "offset", key, value, headers, published_at from bus_messages
           where topic = $1 and partition = $2 and "offset" >= $3 order by "offset" limit $4`,
          [topic, partition, position, bus.settings.fetchSize],
        )
      ).rows;
      if (rows.length === 0) {
        await commit();
        await Promise.race([wake, this.stopSignal(), sleep(bus.settings.safetyPollMs)]);
        continue;
      }
      for (const row of rows) {
        if (!this.running || this.consumer.isPaused) break;
        const message: ConsumedMessage = {
          topic: row.topic,
          partition: row.partition,
          offset: Number(row.offset),
          key: row.key,
          value: row.value,
          headers: row.headers,
          publishedAt: row.published_at,
          attempt: 1,
        };
        const outcome = await this.deliver(message);
        if (outcome === 'abandoned') return;
        position = message.offset + 1;
      }
      await commit();
    }
    await commit();
  }

  /** Handles one message with retries; dead-letters it when retries run out. */
  private async deliver(message: ConsumedMessage): Promise<DeliveryOutcome> {
    const { consumer } = this;
    const outcome = await deliverWithRetries({
      message,
      handler: consumer.options.handler,
      policy: consumer.retryPolicy,
      groupId: consumer.options.groupId,
      deadLetterTopic: consumer.deadLetterTopic,
      publish: (messages) => consumer.bus.publish(messages),
      backoff: async (ms) => {
        await Promise.race([sleep(ms), this.stopSignal()]);
        return this.running;
      },
      onError: (description) => (consumer.lastError = description),
    });
    if (outcome === 'handled') consumer.handled++;
    if (outcome === 'dead-lettered') consumer.deadLettered++;
    return outcome;
  }

  private stopSignal(): Promise<void> {
    return this.stopped;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
