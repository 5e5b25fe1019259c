import type { Counter } from 'prom-client';
import { busMetrics } from '../observability/metrics';
import { isTransientError } from '../errors/transient-errors';

/**
 * The Bus port, with Kafka's semantics so that the kafkajs adapter fits
 * without changing callers: topics split into partitions; a message's key
 * picks its partition (same key, same partition, so order per key holds);
 * consumer groups share partitions, one member per partition at a time;
 * offsets are committed only after the handler succeeded (at-least-once);
 * a failing message is retried with backoff, then dead-lettered, and the
 * consumer goes on. Every adapter passes `platform/src/testing/bus-conformance.ts`.
 */

export interface OutgoingMessage {
  topic: string;
  key: string;
  /** The payload, as text (JSON for everything the platform sends). */
  value: string;
  headers?: Record<string, string>;
}

export interface PublishedMessage {
  topic: string;
  partition: number;
  offset: number;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
  publishedAt: Date;
  /** 1 on the first try of this delivery; grows with each retry. */
  attempt: number;
}

/** What a consumer group has yet to read on one partition. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Messages published to the partition after the group's committed offset. */
  lag: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
}

export interface RetryPolicy {
  /** Tries before the message is dead-lettered (1 = no retry). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000 };

/** What a page handler made of a page: the messages it rejects (dead-lettered at once); the others are handled. */
export interface PageOutcome {
  rejected: { message: ConsumedMessage; error: unknown }[];
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /**
   * One message at a time per partition, partitions concurrently; its offset
   * is committed after it. Give this or `pageHandler`.
   */
  handler?: (message: ConsumedMessage) => Promise<void>;
  /**
   * Pages: the messages fetched from every partition the member owns (in
   * offset order within each partition, at most `maxPageSize`), handed over
   * at once, and the offsets of the whole page committed after it. The
   * handler returns the messages it rejects, which are dead-lettered at once;
   * if it throws, the whole page is retried with backoff and, once retries
   * run out, delivered again one message at a time, so a message that keeps
   * failing is dead-lettered alone. A crash redelivers the page in hand and
   * whatever was handled since the offsets were last committed (the Postgres
   * bus commits at most every `commitIntervalMs` under load, Kafka after
   * every page); handlers make that harmless with the inbox.
   */
  pageHandler?: (page: ConsumedMessage[]) => Promise<PageOutcome>;
  /** Messages per page at most (`pageHandler`). Default 500. */
  maxPageSize?: number;
  /** Where a group with no committed offset starts. Default: earliest. */
  startFrom?: 'earliest' | 'latest';
  retry?: Partial<RetryPolicy>;
  /** Default: `<groupId>.dead-letter`. */
  deadLetterTopic?: string;
}

export type ConsumerState = 'idle' | 'running' | 'paused' | 'reconnecting' | 'stopped';

export interface ConsumerStatus {
  state: ConsumerState;
  memberId: string;
  partitions: { topic: string; partition: number }[];
  handled: number;
  deadLettered: number;
  lastError?: string;
}

export interface Consumer {
  /** Joins the group; resolves once the member is registered. */
  start(): Promise<void>;
  /** Finishes the message in hand, commits, leaves the group. */
  stop(): Promise<void>;
  /** Stops fetching after the message in hand; partitions stay assigned. */
  pause(): void;
  resume(): void;
  status(): ConsumerStatus;
  /** For /readyz: joined and connected (paused counts as healthy). */
  healthy(): boolean;
}

export interface Bus {
  /** `messaging.system` of its spans: `kafka`, or `postgres` for the Postgres bus. */
  readonly system: string;
  /**
   * Creates topics that do not exist yet. An existing topic is never shrunk:
   * the Postgres bus leaves it as it is, the Kafka adapter grows it to a
   * larger requested count (which moves keys to other partitions: order per
   * key holds only for messages published after the change).
   */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Resolves once every message is durably stored; a batch keeps its order per partition. */
  publish(messages: OutgoingMessage[]): Promise<PublishedMessage[]>;
  consumer(options: ConsumerOptions): Consumer;
  /** Replay: moves a group's offsets on a topic back to the earliest retained message. Stop the group first. */
  seekToEarliest(groupId: string, topic: string): Promise<void>;
  /**
   * Consumer lag: per partition of `topics` (existing ones; none is created),
   * messages published after the group's committed offset. A group that
   * never committed on a partition lags by everything retained there.
   */
  lag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]>;
  /** Messages retained in a topic (0 when it does not exist): how full a dead-letter topic is. */
  depth(topic: string): Promise<number>;
  /** Throws when the bus cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by a handler for a message that no retry can fix: dead-lettered at once. */
export class NonRetriableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

/** Headers added to a dead-lettered message, next to its original headers. */
export const DEAD_LETTER_HEADERS = {
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  group: 'dlq-group',
  error: 'dlq-error',
  errorName: 'dlq-error-name',
  attempts: 'dlq-attempts',
  failedAt: 'dlq-failed-at',
} as const;

export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY, ...partial };
}

/** Exponential backoff with full jitter, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** What became of one consumed message. */
export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'abandoned';

interface DeliveryContext {
  policy: RetryPolicy;
  groupId: string;
  deadLetterTopic: string;
  publish: (messages: OutgoingMessage[]) => Promise<unknown>;
  /** Sleeps, then says whether the consumer still owns what it is delivering; when not, it is abandoned uncommitted. */
  backoff: (ms: number) => Promise<boolean>;
  onError: (description: string) => void;
}

/**
 * Every adapter's delivery of one message: the handler is tried with the
 * policy's backoff; a `NonRetriableError`, or the last attempt, sends the
 * message to the dead-letter topic. An infrastructure failure that passes by
 * itself (`isTransientError`: the database restarting, a refused connection)
 * does not use up attempts: the message waits for it, it is not dead-lettered
 * for it. `backoff` sleeps between attempts and says whether the consumer
 * still owns the message; when it does not (a stop, a lost partition), the
 * message is abandoned uncommitted and its next owner delivers it again.
 */
export async function deliverWithRetries(
  delivery: DeliveryContext & { message: ConsumedMessage; handler: (message: ConsumedMessage) => Promise<void> },
): Promise<DeliveryOutcome> {
  const { message, policy, groupId } = delivery;
  const labels = { group: groupId, topic: message.topic };
  for (let attempt = 1, counted = 1; ; attempt++) {
    const timer = busMetrics.handlerDuration.startTimer({ group: groupId });
    try {
      await delivery.handler({ ...message, attempt });
      timer();
      busMetrics.handled.inc(labels);
      return 'handled';
    } catch (err) {
      timer();
      delivery.onError(`${message.topic}/${message.partition}@${message.offset}: ${(err as Error)?.message ?? String(err)}`);
      const transient = !(err instanceof NonRetriableError) && isTransientError(err);
      if (err instanceof NonRetriableError || (!transient && counted >= policy.maxAttempts)) {
        await delivery.publish([deadLetterMessage(message, delivery.groupId, delivery.deadLetterTopic, err, attempt)]);
        busMetrics.deadLettered.inc(labels);
        return 'dead-lettered';
      }
      busMetrics.retried.inc(labels);
      if (!transient) counted++;
      if (!(await delivery.backoff(backoffMs(policy, Math.min(attempt, 16))))) return 'abandoned';
    }
  }
}

/**
 * Every adapter's delivery of a page (`ConsumerOptions.pageHandler`): the
 * page handler's rejections are dead-lettered at once; a page that throws is
 * retried whole, with the policy's backoff (a transient failure without
 * using up attempts), and after the last attempt its messages are delivered
 * one by one as pages of one (`deliverWithRetries`), so only a message that
 * fails on its own is dead-lettered. 'abandoned' when the consumer lost the
 * page meanwhile: nothing of it may be committed.
 */
export async function deliverPageWithRetries(
  delivery: DeliveryContext & { page: ConsumedMessage[]; pageHandler: (page: ConsumedMessage[]) => Promise<PageOutcome> },
): Promise<{ outcome: 'handled' | 'abandoned'; handled: number; deadLettered: number }> {
  const { page, policy, groupId } = delivery;
  const deadLetter = async (rejected: PageOutcome['rejected'], attempts: number) => {
    if (rejected.length === 0) return;
    await delivery.publish(rejected.map((r) => deadLetterMessage(r.message, delivery.groupId, delivery.deadLetterTopic, r.error, attempts)));
    countByTopic(busMetrics.deadLettered, groupId, rejected.map((r) => r.message));
  };
  busMetrics.pageSize.observe({ group: groupId }, page.length);
  for (let attempt = 1, counted = 1; ; attempt++) {
    const timer = busMetrics.handlerDuration.startTimer({ group: groupId });
    try {
      const outcome = await delivery.pageHandler(attempt === 1 ? page : page.map((m) => ({ ...m, attempt })));
      timer();
      await deadLetter(outcome.rejected, attempt);
      const rejected = new Set(outcome.rejected.map((r) => r.message));
      countByTopic(busMetrics.handled, groupId, rejected.size === 0 ? page : page.filter((m) => !rejected.has(m)));
      return { outcome: 'handled', handled: page.length - outcome.rejected.length, deadLettered: outcome.rejected.length };
    } catch (err) {
      timer();
      countByTopic(busMetrics.retried, groupId, page);
      const first = page[0]!;
      delivery.onError(`page of ${page.length} from ${first.topic}/${first.partition}@${first.offset}: ${(err as Error)?.message ?? String(err)}`);
      const transient = isTransientError(err);
      if (!transient && counted >= policy.maxAttempts) break;
      if (!transient) counted++;
      if (!(await delivery.backoff(backoffMs(policy, Math.min(attempt, 16))))) return { outcome: 'abandoned', handled: 0, deadLettered: 0 };
    }
  }
  let handled = 0;
  let deadLettered = 0;
  for (const message of page) {
    const outcome = await deliverWithRetries({
      ...delivery,
      message,
      handler: async (m) => {
        const result = await delivery.pageHandler([m]);
        if (result.rejected.length > 0) throw asNonRetriable(result.rejected[0]!.error);
      },
    });
    if (outcome === 'abandoned') return { outcome: 'abandoned', handled, deadLettered };
    if (outcome === 'handled') handled++;
    else deadLettered++;
  }
  return { outcome: 'handled', handled, deadLettered };
}

/** Adds each message to `counter`, by group and topic (one increment per topic of the page). */
function countByTopic(counter: Counter<'group' | 'topic'>, group: string, messages: readonly ConsumedMessage[]): void {
  if (messages.length === 0) return;
  const first = messages[0]!.topic;
  if (messages.every((m) => m.topic === first)) {
    counter.inc({ group, topic: first }, messages.length);
    return;
  }
  const byTopic = new Map<string, number>();
  for (const m of messages) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
  for (const [topic, n] of byTopic) counter.inc({ group, topic }, n);
}

function asNonRetriable(error: unknown): NonRetriableError {
  if (error instanceof NonRetriableError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const wrapped = new NonRetriableError(err.message, { cause: err });
  wrapped.name = err.name;
  return wrapped;
}

export function deadLetterMessage(
  message: ConsumedMessage,
  groupId: string,
  topic: string,
  error: unknown,
  attempts: number,
): OutgoingMessage {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    topic,
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DEAD_LETTER_HEADERS.topic]: message.topic,
      [DEAD_LETTER_HEADERS.partition]: String(message.partition),
      [DEAD_LETTER_HEADERS.offset]: String(message.offset),
      [DEAD_LETTER_HEADERS.group]: groupId,
      [DEAD_LETTER_HEADERS.error]: err.message.slice(0, 2_000),
      [DEAD_LETTER_HEADERS.errorName]: err.name,
      [DEAD_LETTER_HEADERS.attempts]: String(attempts),
      [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
    },
  };
}
