import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  deliverPageWithRetries,
  deliverWithRetries,
  retryPolicy,
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

interface Owned {
  ref: PartitionRef;
  /** Next offset to read. */
  position: number;
  /** Next offset the group will read, as stored. */
  committed: number;
  /** Given up at the next safe point (a rebalance wants it elsewhere). */
  releasing: boolean;
}

type MessageRow = [topic: string, partition: number, offset: string, key: string, value: string, headers: Record<string, string>, publishedAt: Date];

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
 * partitions to match; a member joining or leaving notifies the group, so
 * the others rebalance at once rather than at their next heartbeat.
 *
 * One loop per member reads every partition it owns in one query (each
 * partition from its own position, in offset order) and delivers what came:
 * to a page handler as one page, whose offsets are then committed in one
 * statement; or to a message handler one message at a time per partition,
 * partitions concurrently. The committed offset moves only past messages
 * that were handled or dead-lettered. A partition being given up is released
 * between pages, after its offsets are committed.
 */
export class PostgresConsumer implements Consumer {
  readonly memberId = randomUUID();
  private state: ConsumerState = 'idle';
  private lockClient: pg.Client | undefined;
  /** Bumped whenever the lock connection is lost: what was fetched before must not be committed. */
  private epoch = 0;
  private readonly owned = new Map<string, Owned>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private paused = false;
  private readonly retry: RetryPolicy;
  /** The lock connection runs one query at a time: heartbeats, lock changes and unlocks queue here. */
  private lockQueue: Promise<unknown> = Promise.resolve();
  private signal: { promise: Promise<void>; resolve: () => void } = deferred();
  private stopSignal = deferred();
  private lastCommit = 0;
  readonly deadLetterTopic: string;
  handled = 0;
  deadLettered = 0;
  lastError: string | undefined;

  constructor(
    readonly bus: PostgresBus,
    readonly options: ConsumerOptions,
    private readonly onStopped: () => void,
  ) {
    if (!options.handler === !options.pageHandler) throw new Error('a consumer needs exactly one of handler and pageHandler');
    this.retry = retryPolicy(options.retry);
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.groupId}.dead-letter`;
  }

  /** Joins the group and takes its share of the partitions (waiting, within bounds, for the members giving them up). */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    for (const topic of this.options.topics) await this.bus.partitionsOf(topic);
    await this.bus.notifier.ready();
    await this.connect();
    this.state = this.paused ? 'paused' : 'running';
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.bus.settings.heartbeatMs);
    void this.watchGroup();
    await this.notifyGroup();
    this.loop = this.run();
    const until = Date.now() + 3 * this.bus.settings.heartbeatMs;
    while ((this.state as ConsumerState) !== 'stopped' && Date.now() < until && (await this.shortOfShare())) {
      await sleep(Math.min(50, this.bus.settings.heartbeatMs));
      await this.tick();
    }
  }

  private connect = async (): Promise<void> => {
    const client = new pg.Client({
      ...this.bus.options.connection,
      application_name: `bus-consumer ${this.options.groupId} ${this.memberId}`.slice(0, 63),
    });
    client.on('error', () => this.lostConnection(client));
    client.on('end', () => this.lostConnection(client));
    await client.connect();
    this.lockClient = client;
  };

  private lockQuery<R extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    const run = this.lockQueue.then(() => client.query<R>(sql, params));
    this.lockQueue = run.catch(() => undefined);
    return run;
  }

  private lostConnection(client: pg.Client): void {
    if (this.lockClient !== client) return;
    // Every lock went with the connection: another member may own the
    // partitions already, so nothing fetched before may be committed.
    this.lockClient = undefined;
    this.epoch++;
    this.owned.clear();
    if (this.state === 'running' || this.state === 'paused') this.state = 'reconnecting';
    this.wakeLoop();
  }

  private tick(): Promise<void> {
    this.ticking ??= this.rebalance()
      .catch((err: unknown) => {
        this.lastError = `rebalance: ${(err as Error).message}`;
      })
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Another member joined or left: rebalance now. */
  private async watchGroup(): Promise<void> {
    const payload = `group:${this.options.groupId}`;
    while ((this.state as ConsumerState) !== 'stopped') {
      await Promise.race([this.bus.notifier.nextWakeFor((p) => p === payload), this.stopSignal.promise]);
      if ((this.state as ConsumerState) === 'stopped') return;
      await this.tick();
    }
  }

  private async notifyGroup(): Promise<void> {
    await this.bus.pool.query('select pg_notify($1, $2)', ['bus_published', `group:${this.options.groupId}`]).catch(() => undefined);
  }

  private async desiredShare(client: pg.Client): Promise<Map<string, PartitionRef>> {
    const { groupId } = this.options;
    const members = (
      await this.lockQuery<{ member_id: string }>(client, 'select member_id from bus_group_members where group_id = $1 order by member_id', [groupId])
    ).rows.map((r) => r.member_id);
    const me = Math.max(0, members.indexOf(this.memberId));
    const all: PartitionRef[] = [];
    for (const topic of [...this.options.topics].sort()) {
      const n = await this.bus.partitionsOf(topic);
      for (let p = 0; p < n; p++) all.push({ topic, partition: p });
    }
    return new Map(all.filter((_, i) => i % Math.max(1, members.length) === me).map((r) => [refKey(r), r]));
  }

  private async shortOfShare(): Promise<boolean> {
    const client = this.lockClient;
    if (!client) return true;
    const desired = await this.desiredShare(client).catch(() => new Map<string, PartitionRef>());
    for (const key of desired.keys()) if (!this.owned.has(key)) return true;
    return false;
  }

  private async rebalance(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    if (!this.lockClient) {
      await this.connect();
      this.state = this.paused ? 'paused' : 'running';
    }
    const client = this.lockClient!;
    const epoch = this.epoch;
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
    const desired = await this.desiredShare(client);
    let changed = false;
    for (const [key, owned] of this.owned) {
      if (!desired.has(key) && !owned.releasing) {
        owned.releasing = true;
        changed = true;
      }
    }
    for (const [key, ref] of desired) {
      const owned = this.owned.get(key);
      if (owned) {
        if (owned.releasing) owned.releasing = false;
        continue;
      }
      // stop() may have run while this tick awaited.
      if ((this.state as ConsumerState) === 'stopped' || epoch !== this.epoch) return;
      const got = await this.lockQuery<{ ok: boolean }>(client, 'select pg_try_advisory_lock(hashtext($1), hashtext($2)) as ok', [groupId, key]);
      if (!got.rows[0]!.ok) continue; // the previous owner has not let go yet; next tick
      if (epoch !== this.epoch) return;
      const committed = await this.initialOffset(ref);
      this.owned.set(key, { ref, position: committed, committed, releasing: false });
      changed = true;
    }
    if (changed) this.wakeLoop();
  }

  /** The group's committed offset of a partition; a group that never committed starts at the earliest message, or the end. */
  private async initialOffset(ref: PartitionRef): Promise<number> {
    const { groupId } = this.options;
    await this.bus.pool.query(
      `insert into bus_group_offsets (group_id, topic, partition, committed)
       values ($1, $2, $3, case when $4 = 'latest'
         then (select next_offset from bus_partitions where topic = $2 and partition = $3)
         else coalesce((select min("offset") from bus_messages where topic = $2 and partition = $3), 0) end)
       on conflict do nothing`,
      [groupId, ref.topic, ref.partition, this.options.startFrom ?? 'earliest'],
    );
    const res = await this.bus.pool.query<{ committed: string }>(
      'select committed from bus_group_offsets where group_id = $1 and topic = $2 and partition = $3',
      [groupId, ref.topic, ref.partition],
    );
    return Number(res.rows[0]!.committed);
  }

  private wakeLoop(): void {
    const s = this.signal;
    this.signal = deferred();
    s.resolve();
  }

  private async run(): Promise<void> {
    const { fetchSize, safetyPollMs } = this.bus.settings;
    const maxPage = this.options.maxPageSize ?? 500;
    while (this.state !== 'stopped') {
      const changed = this.signal.promise;
      try {
        await this.releaseGivenUp();
        if (this.paused || !this.lockClient || this.owned.size === 0) {
          await this.commit(this.epoch);
          await Promise.race([changed, this.stopSignal.promise]);
          continue;
        }
        const epoch = this.epoch;
        const partitions = [...this.owned.values()];
        const markers = partitions.map((o) => `,${refKey(o.ref)},`);
        const wake = this.bus.notifier.nextWakeFor((payload) => markers.some((m) => payload.includes(m)));
        // A page takes an equal share from every partition, so a backlog on one does not starve the others.
        const perPartition = this.options.pageHandler ? Math.max(1, Math.min(fetchSize, Math.ceil(maxPage / partitions.length))) : fetchSize;
        const rows = await this.fetch(partitions, perPartition);
        if (epoch !== this.epoch || (this.state as ConsumerState) === 'stopped') continue;
        if (rows.length === 0) {
          await this.idle(epoch, wake, changed);
          continue;
        }
        await this.deliver(rows, epoch);
        // Every partition gave less than asked: drained. Wait for the next
        // notification (taken before the fetch, so one that came meanwhile
        // counts) instead of fetching again to find nothing.
        const counts = new Map<string, number>();
        for (const m of rows) counts.set(refKey(m), (counts.get(refKey(m)) ?? 0) + 1);
        const drained = [...counts.values()].every((n) => n < perPartition);
        if (!this.options.pageHandler) {
          await this.commit(epoch);
          if (drained) await Promise.race([wake, this.signal.promise, this.stopSignal.promise, sleep(safetyPollMs)]);
          continue;
        }
        if (Date.now() - this.lastCommit >= this.bus.settings.commitIntervalMs) await this.commit(epoch);
        if (drained) await this.idle(epoch, wake, this.signal.promise);
      } catch (err) {
        // The bus database is unreachable for now: back off, then read again.
        this.lastError = `fetch: ${(err as Error).message}`;
        await Promise.race([sleep(500), this.stopSignal.promise]);
      }
    }
    await this.commit(this.epoch).catch(() => undefined);
  }

  /**
   * Waits for work: a publish notification, an ownership change, or the
   * safety poll. Offsets not committed yet are committed first, at the latest
   * `commitIntervalMs` after the previous commit: a page consumer commits at
   * most that often under load (a crash redelivers what its inbox absorbs),
   * and at once when the partition goes quiet.
   */
  private async idle(epoch: number, wake: Promise<void>, changed: Promise<void>): Promise<void> {
    const pending = [...this.owned.values()].some((o) => o.position > o.committed);
    if (pending) {
      const remaining = Math.max(0, this.lastCommit + this.bus.settings.commitIntervalMs - Date.now());
      const woke = await Promise.race([
        wake.then(() => true),
        changed.then(() => true),
        this.stopSignal.promise.then(() => true),
        sleep(remaining).then(() => false),
      ]);
      if (woke) return;
      await this.commit(epoch);
    }
    await Promise.race([wake, changed, this.stopSignal.promise, sleep(this.bus.settings.safetyPollMs)]);
  }

  /** Each owned partition's messages from its position, in offset order, in one query. */
  private async fetch(partitions: Owned[], perPartition: number): Promise<ConsumedMessage[]> {
    const res = await this.bus.pool.query<MessageRow>({
      name: 'bus_fetch',
      text: `select m.topic, m.partition, m."offset", m.key, m.value, m.headers, m.published_at
             from unnest($1::text[], $2::int[], $3::bigint[]) as p(topic, partition, position)
             cross join lateral (
               select * from bus_messages b
               where b.topic = p.topic and b.partition = p.partition and b."offset" >= p.position
               order by b."offset" limit $4
             ) m
             order by m.topic, m.partition, m."offset"`,
      values: [partitions.map((o) => o.ref.topic), partitions.map((o) => o.ref.partition), partitions.map((o) => o.position), perPartition],
      rowMode: 'array',
    });
    return res.rows.map((r) => ({
      topic: r[0],
      partition: r[1],
      offset: Number(r[2]),
      key: r[3],
      value: r[4],
      headers: r[5],
      publishedAt: r[6],
      attempt: 1,
    }));
  }

  private advance(message: ConsumedMessage, epoch: number): void {
    if (epoch !== this.epoch) return;
    const owned = this.owned.get(refKey(message));
    if (owned && owned.position <= message.offset) owned.position = message.offset + 1;
  }

  private async deliver(messages: ConsumedMessage[], epoch: number): Promise<void> {
    const { pageHandler, handler } = this.options;
    const context = {
      policy: this.retry,
      groupId: this.options.groupId,
      deadLetterTopic: this.deadLetterTopic,
      publish: (out: Parameters<PostgresBus['publish']>[0]) => this.bus.publish(out),
      backoff: async (ms: number) => {
        await Promise.race([sleep(ms), this.stopSignal.promise]);
        return (this.state as ConsumerState) !== 'stopped' && epoch === this.epoch;
      },
      onError: (description: string) => (this.lastError = description),
    };
    if (pageHandler) {
      const result = await deliverPageWithRetries({ ...context, page: messages, pageHandler });
      if (result.outcome === 'abandoned') return;
      this.handled += result.handled;
      this.deadLettered += result.deadLettered;
      for (const m of messages) this.advance(m, epoch);
      return;
    }
    const byPartition = new Map<string, ConsumedMessage[]>();
    for (const m of messages) {
      const key = refKey(m);
      const list = byPartition.get(key);
      if (list) list.push(m);
      else byPartition.set(key, [m]);
    }
    await Promise.all(
      [...byPartition.entries()].map(async ([key, list]) => {
        for (const message of list) {
          // Stop, pause or a rebalance: after the message in hand.
          if ((this.state as ConsumerState) === 'stopped' || this.paused || epoch !== this.epoch || this.owned.get(key)?.releasing !== false) return;
          const outcome = await deliverWithRetries({ ...context, message, handler: handler! });
          if (outcome === 'abandoned') return;
          if (outcome === 'handled') this.handled++;
          else this.deadLettered++;
          this.advance(message, epoch);
        }
      }),
    );
  }

  /** Stores every owned partition's position that moved, in one statement. */
  private async commit(epoch: number): Promise<void> {
    if (epoch !== this.epoch || !this.lockClient) return;
    const moved = [...this.owned.values()].filter((o) => o.position > o.committed);
    this.lastCommit = Date.now();
    if (moved.length === 0) return;
    await this.bus.pool.query({
      name: 'bus_commit_offsets',
      text: `update bus_group_offsets o set committed = u.committed, updated_at = now()
             from unnest($2::text[], $3::int[], $4::bigint[]) as u(topic, partition, committed)
             where o.group_id = $1 and o.topic = u.topic and o.partition = u.partition and o.committed < u.committed`,
      values: [this.options.groupId, moved.map((o) => o.ref.topic), moved.map((o) => o.ref.partition), moved.map((o) => o.position)],
    });
    if (epoch !== this.epoch) return;
    for (const o of moved) o.committed = Math.max(o.committed, o.position);
  }

  /** Gives up the partitions a rebalance moved elsewhere: commit, then unlock (between deliveries). */
  private async releaseGivenUp(): Promise<void> {
    const leaving = [...this.owned.entries()].filter(([, o]) => o.releasing);
    if (leaving.length === 0) return;
    const epoch = this.epoch;
    await this.commit(epoch);
    for (const [key, o] of leaving) {
      if (!o.releasing || epoch !== this.epoch) continue;
      this.owned.delete(key);
      await this.unlock(o.ref, epoch);
    }
    // The member waiting for them takes them at once.
    await this.notifyGroup();
  }

  private async unlock(ref: PartitionRef, epoch: number): Promise<void> {
    if (epoch !== this.epoch || !this.lockClient) return;
    await this.lockQuery(this.lockClient, 'select pg_advisory_unlock(hashtext($1), hashtext($2))', [this.options.groupId, refKey(ref)]).catch(() => undefined);
  }

  get isPaused(): boolean {
    return this.paused;
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
    this.wakeLoop();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state !== 'idle';
    this.state = 'stopped';
    if (this.timer) clearInterval(this.timer);
    this.stopSignal.resolve();
    await this.ticking;
    // The message or page in hand finishes and is committed.
    await this.loop;
    const epoch = this.epoch;
    for (const o of this.owned.values()) await this.unlock(o.ref, epoch);
    this.owned.clear();
    const client = this.lockClient;
    this.lockClient = undefined;
    if (client && wasStarted) {
      await this.lockQuery(client, 'delete from bus_group_members where group_id = $1 and member_id = $2', [this.options.groupId, this.memberId]).catch(
        () => undefined,
      );
      await client.end().catch(() => undefined);
      await this.notifyGroup();
    }
    this.onStopped();
  }

  status(): ConsumerStatus {
    return {
      state: this.state,
      memberId: this.memberId,
      partitions: [...this.owned.values()].map((o) => o.ref).sort((a, b) => refKey(a).localeCompare(refKey(b))),
      handled: this.handled,
      deadLettered: this.deadLettered,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  healthy(): boolean {
    return (this.state === 'running' || this.state === 'paused') && this.lockClient !== undefined;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
