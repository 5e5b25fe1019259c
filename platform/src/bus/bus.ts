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

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  handler: (message: ConsumedMessage) => Promise<void>;
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

/**
 * Every adapter's delivery of one message: the handler is tried with the
 * policy's backoff; a `NonRetriableError`, or the last attempt, sends the
 * message to the dead-letter topic. `backoff` sleeps between attempts and
 * says whether the consumer still owns the message; when it does not (a stop,
 * a lost partition), the message is abandoned uncommitted and its next owner
 * delivers it again.
 */
export async function deliverWithRetries(delivery: {
  message: ConsumedMessage;
  handler: (message: ConsumedMessage) => Promise<void>;
  policy: RetryPolicy;
  groupId: string;
  deadLetterTopic: string;
  publish: (messages: OutgoingMessage[]) => Promise<unknown>;
  backoff: (ms: number) => Promise<boolean>;
  onError: (description: string) => void;
}): Promise<DeliveryOutcome> {
  const { message, policy } = delivery;
  for (let attempt = 1; ; attempt++) {
    try {
      await delivery.handler({ ...message, attempt });
      return 'handled';
    } catch (err) {
      delivery.onError(`${message.topic}/${message.partition}@${message.offset}: ${(err as Error)?.message ?? String(err)}`);
      if (err instanceof NonRetriableError || attempt >= policy.maxAttempts) {
        await delivery.publish([deadLetterMessage(message, delivery.groupId, delivery.deadLetterTopic, err, attempt)]);
        return 'dead-lettered';
      }
      if (!(await delivery.backoff(backoffMs(policy, attempt)))) return 'abandoned';
    }
  }
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
