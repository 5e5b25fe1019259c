import kafkajs, { type Consumer as KafkaJsConsumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import { GroupCommit, type ItemOutcome } from '../../persistence/group-commit';
import {
  deliverPageWithRetries,
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
import type { KafkaBus } from './kafka-bus';

// kafkajs spreads its error classes into its CommonJS exports, which Node's
// named-import detection cannot see.
const { KafkaJSError } = kafkajs;

/**
 * A member of a consumer group on Kafka, guarding against the ways a kafkajs
 * consumer stops or misbehaves without saying so:
 *
 * - Offsets are resolved and committed one message at a time (one page at a
 *   time with a `pageHandler`), only after the handler returned or the
 *   message was dead-lettered. A crash, an expulsion or a rebalance
 *   redelivers at most the message (or page) in hand, never skips one; the
 *   next owner of a partition starts right after the last handled message.
 *   Redeliveries do happen (kafkajs has no revoke hook), so handlers are
 *   idempotent through the inbox (the services' message path commits it
 *   with their effects).
 * - Handler failures never reach kafkajs: they are retried here with the
 *   port's backoff and dead-lettered. kafkajs treats a TypeError or
 *   RangeError as unrecoverable and stops the consumer for good, so anything
 *   else thrown from the batch loop that is not a kafkajs error is rethrown
 *   as a plain Error, which kafkajs retries and restarts from.
 * - Heartbeats go out only when asked for, so a timer sends them while a
 *   handler runs or backs off: a handler may take longer than the session.
 * - kafkajs restarts a crashed consumer only when the cause was retriable.
 *   On any other crash (and when a restart itself fails) this consumer runs
 *   the same kafkajs consumer again, with backoff, and is unhealthy until it
 *   has rejoined its group.
 */
export class KafkaConsumer implements Consumer {
  private readonly consumer: KafkaJsConsumer;
  private readonly retry: RetryPolicy;
  readonly deadLetterTopic: string;
  private started = false;
  private stopped = false;
  private joined = false;
  private paused = false;
  private memberId = '';
  private assignment: { topic: string; partition: number }[] = [];
  private rerunTimer: NodeJS.Timeout | undefined;
  private reruns = 0;
  private restarting = false;
  private lastCrash: Error | undefined;
  private handled = 0;
  private deadLettered = 0;
  private lastError: string | undefined;
  /** Page mode: the batches kafkajs hands over from one fetch (one per partition) merged into one page. */
  private readonly pages: GroupCommit<PageChunk, DeliveryOutcome>;
  /** Crashes of the kafkajs consumer so far. */
  crashes = 0;
  /** Restarts by this adapter, after crashes kafkajs would not restart from. */
  restarts = 0;

  constructor(
    private readonly bus: KafkaBus,
    readonly options: ConsumerOptions,
    private readonly onStopped: () => void,
  ) {
    if (!options.handler === !options.pageHandler) throw new Error('a consumer needs exactly one of handler and pageHandler');
    this.retry = retryPolicy(options.retry);
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.groupId}.dead-letter`;
    this.pages = new GroupCommit((chunks) => this.deliverPage(chunks), {
      weight: (c) => c.messages.length,
      maxBatchWeight: options.maxPageSize ?? 500,
    });
    const s = bus.settings;
    this.consumer = bus.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      rebalanceTimeout: s.rebalanceTimeoutMs,
      maxWaitTimeInMs: s.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      // Explicit, because kafkajs picks much shorter defaults when NODE_ENV=test.
      retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: 5, factor: 0.2, multiplier: 2 },
    });
    const { GROUP_JOIN, CRASH, STOP } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.memberId = payload.memberId;
      this.assignment = Object.entries(payload.memberAssignment)
        .flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      // A crash restart builds a new kafkajs consumer group, which forgets pauses.
      if (this.paused) this.applyPause();
      if (this.restarting) this.bus.logger.info({ groupId: this.options.groupId }, 'kafka consumer rejoined its group after a restart');
      this.restarting = false;
    });
    this.consumer.on(STOP, () => {
      this.joined = false;
      this.assignment = [];
    });
    this.consumer.on(CRASH, ({ payload }) => {
      this.crashes++;
      this.joined = false;
      this.assignment = [];
      this.lastCrash = payload.error;
      this.restarting = true;
      this.lastError = `crashed: ${payload.error.name}: ${payload.error.message}`;
      const log = { groupId: this.options.groupId, err: payload.error, restartedByKafkajs: payload.restart };
      if (payload.restart) {
        this.bus.logger.warn(log, 'kafka consumer crashed; kafkajs restarts it');
      } else if (this.started && !this.stopped) {
        this.bus.logger.error(log, 'kafka consumer crashed and kafkajs gave up on it; restarting it');
        this.scheduleRerun();
      }
    });
  }

  /** Joins the group; resolves once this member has its partitions. */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    for (const topic of this.options.topics) await this.bus.partitionsOf(topic);
    this.started = true;
    try {
      await this.run();
      // kafkajs reports a failed first join as a crash, not as a rejection.
      if (!this.joined && !this.stopped) throw this.lastCrash ?? new Error(`consumer ${this.options.groupId} did not join its group`);
    } catch (err) {
      this.started = false;
      clearTimeout(this.rerunTimer);
      await this.consumer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: (this.options.startFrom ?? 'earliest') === 'earliest' });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Page mode: every partition's batch of a fetch at once, so they merge into one page.
      partitionsConsumedConcurrently: this.options.pageHandler ? Math.max(64, this.bus.settings.partitionsConsumedConcurrently) : this.bus.settings.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    // stop() may have disconnected while this was connecting or joining.
    if (this.stopped) await this.consumer.disconnect();
  }

  private scheduleRerun(): void {
    if (this.stopped || this.rerunTimer) return;
    const { initialMs, maxMs } = this.bus.settings.restartBackoff;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.reruns, 16));
    this.reruns++;
    this.restarting = true;
    this.rerunTimer = setTimeout(() => {
      this.rerunTimer = undefined;
      if (this.stopped) return;
      this.restarts++;
      // connect() throws (without a crash event) while no broker answers.
      this.run().catch((err: unknown) => {
        this.lastError = `restart failed: ${(err as Error).message}`;
        this.bus.logger.warn({ groupId: this.options.groupId, err, attempt: this.reruns }, 'kafka consumer restart failed; trying again');
        this.scheduleRerun();
      });
    }, delay);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary, heartbeat } = payload;
    if (this.options.pageHandler) {
      // A partition's batch goes in chunks of at most a page; chunks of every partition fetched together merge into one page.
      const size = this.options.maxPageSize ?? 500;
      for (let from = 0; from < batch.messages.length; from += size) {
        if (!isRunning() || isStale() || this.paused) return;
        try {
          const outcome = await this.pages.submit({ payload, messages: batch.messages.slice(from, from + size) });
          if (outcome === 'abandoned') return;
        } catch (err) {
          if (err instanceof KafkaJSError) throw err;
          const wrapped = new Error(`${batch.topic}/${batch.partition}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
          wrapped.name = 'BusConsumerError';
          throw wrapped;
        }
      }
      return;
    }
    try {
      for (const raw of batch.messages) {
        // Paused: leave the rest unresolved; kafkajs fetches it again on resume.
        if (!isRunning() || isStale() || this.paused) break;
        const message = consumedMessage(batch.topic, batch.partition, raw);
        const heartbeats = new HeartbeatTimer(heartbeat, this.bus.settings.heartbeatIntervalMs);
        let outcome: DeliveryOutcome;
        try {
          outcome = await this.deliver(message, payload, heartbeats);
        } finally {
          heartbeats.stop();
        }
        if (outcome === 'abandoned') break;
        resolveOffset(raw.offset);
        await commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(message.offset + 1) }] }],
        });
        this.reruns = 0;
        // A rebalance noticed while the handler ran: rejoin now rather than
        // go on with a generation the group has left behind.
        if (heartbeats.failure) throw heartbeats.failure;
        await heartbeat();
      }
    } catch (err) {
      if (err instanceof KafkaJSError) throw err;
      const wrapped = new Error(`${batch.topic}/${batch.partition}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      wrapped.name = 'BusConsumerError';
      throw wrapped;
    }
  }

  /**
   * The batches of one fetch as one page: delivered with the port's retries,
   * then every partition's offset resolved and committed in one request.
   * Never throws (a thrown error would make the group-commit queue deliver the
   * batches again one by one): each batch's outcome or error goes back to its
   * own `eachBatch`, which rethrows it to kafkajs.
   */
  private async deliverPage(chunks: PageChunk[]): Promise<ItemOutcome<DeliveryOutcome>[]> {
    const live = chunks.filter((c) => c.payload.isRunning() && !c.payload.isStale());
    if (live.length === 0) return chunks.map(() => ({ ok: true, value: 'abandoned' as const }));
    const owned = () => live.every((c) => c.payload.isRunning() && !c.payload.isStale());
    const heartbeats = new HeartbeatTimer(() => live[0]!.payload.heartbeat(), this.bus.settings.heartbeatIntervalMs);
    try {
      const page = live.flatMap((c) => c.messages.map((raw) => consumedMessage(c.payload.batch.topic, c.payload.batch.partition, raw)));
      const result = await deliverPageWithRetries({
        page,
        pageHandler: this.options.pageHandler!,
        policy: this.retry,
        groupId: this.options.groupId,
        deadLetterTopic: this.deadLetterTopic,
        publish: (messages) => this.bus.publish(messages),
        backoff: async (ms) => {
          await sleepWhile(ms, owned);
          if (!owned()) return false;
          if (heartbeats.failure) throw heartbeats.failure;
          return true;
        },
        onError: (description) => (this.lastError = description),
      });
      if (result.outcome === 'abandoned') return chunks.map(() => ({ ok: true, value: 'abandoned' as const }));
      this.handled += result.handled;
      this.deadLettered += result.deadLettered;
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const c of live) {
        const last = c.messages[c.messages.length - 1]!;
        c.payload.resolveOffset(last.offset);
        const list = byTopic.get(c.payload.batch.topic) ?? [];
        list.push({ partition: c.payload.batch.partition, offset: String(Number(last.offset) + 1) });
        byTopic.set(c.payload.batch.topic, list);
      }
      await live[0]!.payload.commitOffsetsIfNecessary({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      this.reruns = 0;
      if (heartbeats.failure) throw heartbeats.failure;
      return chunks.map((c) => ({ ok: true, value: live.includes(c) ? ('handled' as const) : ('abandoned' as const) }));
    } catch (error) {
      return chunks.map(() => ({ ok: false, error }));
    } finally {
      heartbeats.stop();
    }
  }

  /** Handles one message with the port's retries; dead-letters it when they run out. */
  private async deliver(message: ConsumedMessage, payload: EachBatchPayload, heartbeats: HeartbeatTimer): Promise<DeliveryOutcome> {
    const owned = () => payload.isRunning() && !payload.isStale();
    const outcome = await deliverWithRetries({
      message,
      handler: this.options.handler!,
      policy: this.retry,
      groupId: this.options.groupId,
      deadLetterTopic: this.deadLetterTopic,
      publish: (messages) => this.bus.publish(messages),
      backoff: async (ms) => {
        await sleepWhile(ms, owned);
        if (!owned()) return false;
        // The group moved on during the backoff: rejoin rather than retry in a stale generation.
        if (heartbeats.failure) throw heartbeats.failure;
        return true;
      },
      onError: (description) => (this.lastError = description),
    });
    if (outcome === 'handled') this.handled++;
    if (outcome === 'dead-lettered') this.deadLettered++;
    return outcome;
  }

  pause(): void {
    this.paused = true;
    this.applyPause();
  }

  resume(): void {
    this.paused = false;
    try {
      this.consumer.resume(this.options.topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet (or restarting): nothing is paused in kafkajs.
    }
  }

  private applyPause(): void {
    try {
      this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet (or restarting): applied on the next group join.
    }
  }

  /** Stops fetching, lets the message in hand finish and commit, leaves the group. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.rerunTimer);
    if (this.started) {
      await this.consumer.disconnect().catch((err: unknown) => {
        this.bus.logger.warn({ groupId: this.options.groupId, err }, 'kafka consumer did not disconnect cleanly');
      });
    }
    this.joined = false;
    this.onStopped();
  }

  private get state(): ConsumerState {
    if (this.stopped) return 'stopped';
    if (!this.started) return 'idle';
    if (!this.joined) return 'reconnecting';
    return this.paused ? 'paused' : 'running';
  }

  status(): ConsumerStatus {
    return {
      state: this.state,
      memberId: this.memberId,
      partitions: [...this.assignment],
      handled: this.handled,
      deadLettered: this.deadLettered,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Joined since the last crash or stop (paused counts as healthy). */
  healthy(): boolean {
    const s = this.state;
    return s === 'running' || s === 'paused';
  }
}

/** Part of one partition's batch, at most a page: what the page queue merges across partitions. */
interface PageChunk {
  payload: EachBatchPayload;
  messages: KafkaMessage[];
}

/** Heartbeats on a timer while a handler runs; remembers the first failure (a rebalance, an expulsion). */
class HeartbeatTimer {
  failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(heartbeat: () => Promise<void>, intervalMs: number) {
    this.timer = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        this.failure ??= err as Error;
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function consumedMessage(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = last.toString();
  }
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key?.toString() ?? '',
    value: m.value?.toString() ?? '',
    headers,
    publishedAt: new Date(Number(m.timestamp)),
    attempt: 1,
  };
}

/** Sleeps `ms`, waking early once `stillWanted` turns false. */
async function sleepWhile(ms: number, stillWanted: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (stillWanted() && Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(50, until - Date.now())));
  }
}
