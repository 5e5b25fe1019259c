import pg from 'pg';
import type { Knex } from 'knex';
import { GroupCommit, type ItemOutcome } from '../../persistence/group-commit';
import { PgNotifier } from '../../persistence/pg-notifier';
import { runMigrations } from '../../persistence/migrations';
import { periodicTask, type PeriodicTask } from '../../process/periodic-task';
import type { Bus, Consumer, ConsumerOptions, OutgoingMessage, PartitionLag, PublishedMessage, TopicSpec } from '../bus';
import { partitionForKey } from '../partitioner';
import { busMigrations } from './bus-migrations';
import { PostgresConsumer } from './postgres-consumer';

export interface PostgresBusOptions {
  connection: pg.ClientConfig;
  poolSize?: number;
  /** Partitions of a topic created implicitly, by a first publish or subscribe. */
  defaultPartitions?: number;
  /** How often a consumer heartbeats and re-checks its share of partitions. */
  heartbeatMs?: number;
  /** A member silent this long is dropped from its group and its partitions reassigned. */
  sessionTimeoutMs?: number;
  /** Messages read per fetch from one partition. */
  fetchSize?: number;
  /** Fallback re-read when no publish notification arrived. */
  safetyPollMs?: number;
  /** A page consumer commits its offsets at most this often while busy (and at once when idle). */
  commitIntervalMs?: number;
  /** Deletes old messages on a schedule (see `applyRetention`); none deleted when absent. */
  retention?: BusRetention & { everyMs: number };
  /** A scheduled retention run failed (it is tried again at the next tick). */
  onRetentionError?: (err: unknown) => void;
}

/**
 * What the embedded bus keeps. A message may be deleted once it is older
 * than `maxAgeMs`, or more than `maxMessages` behind its partition's end,
 * and only when every group that reads its partition has consumed it: a
 * group's committed offset is past it. A partition no group has read keeps
 * everything (a dead-letter topic, say, until an operator has dealt with
 * it), and a group that is never coming back holds its partitions' history
 * until its offsets are deleted.
 */
export interface BusRetention {
  maxAgeMs?: number;
  maxMessages?: number;
}

export interface PostgresBusSettings {
  heartbeatMs: number;
  sessionTimeoutMs: number;
  fetchSize: number;
  safetyPollMs: number;
  commitIntervalMs: number;
}

type RoutedMessage = OutgoingMessage & { partition: number };

export async function migrateBus(db: Knex): Promise<string[]> {
  return runMigrations(db, 'bus', busMigrations);
}

export class PostgresBus implements Bus {
  readonly system = 'postgres';
  readonly pool: pg.Pool;
  readonly notifier: PgNotifier;
  readonly settings: PostgresBusSettings;
  private readonly partitionCounts = new Map<string, number>();
  private readonly consumers = new Set<PostgresConsumer>();
  private readonly defaultPartitions: number;
  private readonly retention: PeriodicTask<number> | undefined;
  private readonly publishes: GroupCommit<RoutedMessage[], PublishedMessage[]>;

  constructor(readonly options: PostgresBusOptions) {
    this.pool = new pg.Pool({ ...options.connection, max: options.poolSize ?? 10 });
    this.pool.on('error', () => undefined);
    this.notifier = new PgNotifier(options.connection, 'bus_published');
    this.defaultPartitions = options.defaultPartitions ?? 4;
    this.publishes = new GroupCommit((batch) => this.writeBatch(batch), {
      maxBatchWeight: 5_000,
      weight: (call) => call.length,
    });
    this.settings = {
      heartbeatMs: options.heartbeatMs ?? 1_000,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      fetchSize: options.fetchSize ?? 200,
      safetyPollMs: options.safetyPollMs ?? 5_000,
      commitIntervalMs: options.commitIntervalMs ?? 100,
    };
    const { retention } = options;
    if (retention) {
      this.retention = periodicTask('bus retention', retention.everyMs, () => this.applyRetention(retention), { onError: (err) => options.onRetentionError?.(err) });
      this.retention.start();
    }
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const t of topics) {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(t.name)) throw new Error(`invalid topic name "${t.name}"`);
      if (!Number.isInteger(t.partitions) || t.partitions < 1) throw new Error(`topic ${t.name}: partitions must be >= 1`);
      await this.pool.query(
        `insert into bus_partitions (topic, partition)
         select $1, p from generate_series(0, $2 - 1) p
         where not exists (select 1 from bus_partitions where topic = $1)
         on conflict do nothing`,
        [t.name, t.partitions],
      );
      this.partitionCounts.delete(t.name);
    }
  }

  /** The topic's partition count, creating the topic with the default count if it does not exist. */
  async partitionsOf(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known) return known;
    let res = await this.pool.query<{ n: string }>('select count(*) as n from bus_partitions where topic = $1', [topic]);
    if (Number(res.rows[0]!.n) === 0) {
      await this.createTopics([{ name: topic, partitions: this.defaultPartitions }]);
      res = await this.pool.query<{ n: string }>('select count(*) as n from bus_partitions where topic = $1', [topic]);
    }
    const n = Number(res.rows[0]!.n);
    this.partitionCounts.set(topic, n);
    return n;
  }

  async publish(messages: OutgoingMessage[]): Promise<PublishedMessage[]> {
    if (messages.length === 0) return [];
    const routed: RoutedMessage[] = [];
    for (const m of messages) {
      if (typeof m.key !== 'string' || typeof m.value !== 'string') throw new Error('a message needs a string key and value');
      routed.push({ ...m, partition: partitionForKey(m.key, await this.partitionsOf(m.topic)) });
    }
    return this.publishes.submit(routed);
  }

  /**
   * Concurrent publish calls share one transaction. Each call's messages stay
   * together and in order, so a caller's order per key holds; partition rows
   * are locked once per batch rather than once per call.
   */
  private async writeBatch(batch: RoutedMessage[][]): Promise<ItemOutcome<PublishedMessage[]>[]> {
    const all = batch.flat();
    const res = await this.pool.query<{ topic: string; partition: number; offset: string }>({
      name: 'bus_publish',
      text: 'select * from bus_publish($1, $2, $3, $4, $5)',
      values: [
        all.map((m) => m.topic),
        all.map((m) => m.partition),
        all.map((m) => m.key),
        all.map((m) => m.value),
        JSON.stringify(all.map((m) => m.headers ?? {})),
      ],
    });
    const published = res.rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.offset) }));
    let from = 0;
    return batch.map((call) => {
      const value = published.slice(from, from + call.length);
      from += call.length;
      return { ok: true, value };
    });
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = new PostgresConsumer(this, options, () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    return consumer;
  }

  async seekToEarliest(groupId: string, topic: string): Promise<void> {
    const n = await this.partitionsOf(topic);
    await this.pool.query(
      `insert into bus_group_offsets (group_id, topic, partition, committed)
       select $1, $2, p, coalesce((select min("offset") from bus_messages m where m.topic = $2 and m.partition = p), 0)
       from generate_series(0, $3 - 1) p
       on conflict (group_id, topic, partition) do update set committed = excluded.committed, updated_at = now()`,
      [groupId, topic, n],
    );
  }

  async lag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
    if (topics.length === 0) return [];
    const res = await this.pool.query<{ topic: string; partition: number; lag: string }>(
      `select p.topic, p.partition,
              greatest(0, p.next_offset - coalesce(o.committed,
                (select min(m."offset") from bus_messages m where m.topic = p.topic and m.partition = p.partition), p.next_offset)) as lag
       from bus_partitions p
       left join bus_group_offsets o on o.group_id = $1 and o.topic = p.topic and o.partition = p.partition
       where p.topic = any($2)
       order by p.topic, p.partition`,
      [groupId, topics],
    );
    return res.rows.map((r) => ({ topic: r.topic, partition: r.partition, lag: Number(r.lag) }));
  }

  async depth(topic: string): Promise<number> {
    const res = await this.pool.query<{ n: string }>('select count(*) as n from bus_messages where topic = $1', [topic]);
    return Number(res.rows[0]!.n);
  }

  async ping(): Promise<void> {
    await this.pool.query('select 1 from bus_partitions limit 1');
  }

  /** Deletes what the retention allows (see `BusRetention`); returns how many messages. */
  async applyRetention(retention: BusRetention): Promise<number> {
    if (retention.maxAgeMs === undefined && retention.maxMessages === undefined) return 0;
    const res = await this.pool.query(
      `with safe as (
         select o.topic, o.partition, min(o.committed) as below, p.next_offset
         from bus_group_offsets o join bus_partitions p on p.topic = o.topic and p.partition = o.partition
         group by o.topic, o.partition, p.next_offset
       )
       delete from bus_messages m using safe
       where m.topic = safe.topic and m.partition = safe.partition and m."offset" < safe.below
         and (($1::float8 is not null and m.published_at < now() - make_interval(secs => $1::float8))
           or ($2::bigint is not null and m."offset" < safe.next_offset - $2::bigint))`,
      [retention.maxAgeMs === undefined ? null : retention.maxAgeMs / 1000, retention.maxMessages ?? null],
    );
    return res.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.retention?.stop();
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.publishes.idle();
    await this.notifier.close();
    await this.pool.end();
  }
}
