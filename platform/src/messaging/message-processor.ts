import { setTimeout as sleep } from 'node:timers/promises';
import { NonRetriableError, type ConsumedMessage, type PageOutcome } from '../bus/bus';
import { decodeEnvelope, type Envelope } from '../envelope/envelope';
import { ConcurrencyError, PlatformError } from '../errors/errors';
import { AlreadyHandledError, CommitConflictError, DuplicateEventIdError, type EventMetadata, type EventStore } from '../event-store/event-store';
import { UnitOfWork, type StreamStateCache } from '../event-store/unit-of-work';
import { Work } from '../event-store/work';
import type { Inbox } from '../inbox/inbox';
import { GroupCommit } from '../persistence/group-commit';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { ATTR, SpanKind, carrierOf, context, contextOf, failSpan, startLinkedSpan, trace, tracingEnabled, type Span } from '../observability/tracing';
import type { InboundMessage, MessageHandler, MessageHandlers } from './message-handlers';

export interface MessageProcessorOptions {
  /** The consumer's name: its inbox records, and its consumer group on the bus. */
  consumer: string;
  handlers: MessageHandlers;
  store: Pick<EventStore, 'readStreams' | 'commit'>;
  inbox: Inbox;
  cache?: StreamStateCache;
  /** Runs of a page whose commit found streams moved, before the page is handed back to the bus's retries. */
  maxConflictAttempts?: number;
  /** A message whose value is larger is rejected unread (default `DEFAULT_MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** Called for every message dead-lettered, with why. */
  onRejected?: (message: ConsumedMessage, error: unknown) => void;
}

/** The largest message value a consumer reads: 1 MiB, Kafka's default `message.max.bytes`. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

export class MessageTooLargeError extends NonRetriableError {
  constructor(bytes: number, limit: number) {
    super(`message of ${bytes} bytes is over the ${limit}-byte limit: it is not read`);
    this.name = 'MessageTooLargeError';
  }
}

export interface MessageProcessorStats {
  pages: number;
  messages: number;
  handled: number;
  ignored: number;
  duplicates: number;
  rejected: number;
  /** Page runs repeated because a commit found streams that had moved. */
  conflicts: number;
}

interface Entry {
  message: ConsumedMessage;
  envelope: Envelope;
  data: unknown;
  handler: MessageHandler<unknown>;
  inbound: InboundMessage;
  /** Its `process <topic>` span, when tracing is on. */
  span?: Span;
}

/**
 * The platform's one message path: what every service's consumer runs.
 *
 * A page of messages (from any number of partitions) is handled as one unit
 * of work, committed in one transaction with the inbox record of every
 * message it handled:
 *
 * 1. Decode each message (refusing one over `maxMessageBytes` unread; the
 *    envelope, then its contract's `read`: validation
 *    and upcasting). One that does not decode, or whose type no contract
 *    knows, is rejected at once: the bus dead-letters it with the reason.
 *    A known type no handler takes is acknowledged unread.
 * 2. Drop the messages the inbox already records (one query for the page).
 * 3. Run the handlers: messages with the same key one after another, in
 *    offset order, different keys concurrently, so their stream loads go
 *    out together. A handler that breaks a rule (`NonRetriableError`, a 4xx
 *    `PlatformError`) gets its message rejected, and the page runs again
 *    without it, so nothing it staged survives.
 * 4. Commit the unit with the inbox record. A commit that finds a stream
 *    moved since it was read runs the page again on the new state; a message
 *    another member committed meanwhile is dropped as done. Anything else
 *    (the database down) fails the page: the bus retries it with backoff and,
 *    when retries run out, delivers its messages one by one, so a message
 *    that keeps failing is isolated and dead-lettered alone.
 *
 * So a redelivered page changes nothing, a crash before the commit leaves
 * nothing behind, and a crash after it is a redelivery. Calls made at the
 * same time (bus pages, or single messages in tests) are merged into one
 * page, and one page runs at a time, so one process never races itself.
 */
export class MessageProcessor {
  private readonly queue: GroupCommit<ConsumedMessage[], PageOutcome>;
  private readonly counters: MessageProcessorStats = { pages: 0, messages: 0, handled: 0, ignored: 0, duplicates: 0, rejected: 0, conflicts: 0 };

  constructor(private readonly options: MessageProcessorOptions) {
    this.queue = new GroupCommit((calls) => this.processCalls(calls), { weight: (c) => c.length, maxBatchWeight: 2_000 });
  }

  get consumer(): string {
    return this.options.consumer;
  }

  get topics(): string[] {
    return this.options.handlers.topics;
  }

  stats(): MessageProcessorStats {
    return { ...this.counters };
  }

  /** The bus's page handler. */
  handlePage(page: ConsumedMessage[]): Promise<PageOutcome> {
    if (page.length === 0) return Promise.resolve({ rejected: [] });
    return this.queue.submit(page);
  }

  /** One message, as a page of one; rejects with the reason when the message is rejected. */
  async handle(message: ConsumedMessage): Promise<void> {
    const outcome = await this.handlePage([message]);
    if (outcome.rejected.length > 0) throw outcome.rejected[0]!.error;
  }

  private async processCalls(calls: ConsumedMessage[][]) {
    const outcome = await this.processPage(calls.flat());
    const rejectedBy = new Map(outcome.rejected.map((r) => [r.message, r]));
    return calls.map((call) => ({ ok: true as const, value: { rejected: call.flatMap((m) => rejectedBy.get(m) ?? []) } }));
  }

  private async processPage(messages: ConsumedMessage[]): Promise<PageOutcome> {
    if (!tracingEnabled()) return this.processEntries(messages, undefined);
    // Each message's `process` span: ended with the page, with its outcome.
    const spans = new Map<ConsumedMessage, Span>();
    try {
      const outcome = await this.processEntries(messages, spans);
      for (const span of spans.values()) span.setAttribute(ATTR.outcome, 'handled');
      return outcome;
    } catch (err) {
      for (const span of spans.values()) failSpan(span, err);
      throw err;
    } finally {
      for (const span of spans.values()) span.end();
    }
  }

  private async processEntries(messages: ConsumedMessage[], spans: Map<ConsumedMessage, Span> | undefined): Promise<PageOutcome> {
    const { handlers, consumer } = this.options;
    this.counters.pages++;
    this.counters.messages += messages.length;
    const rejected: PageOutcome['rejected'] = [];
    /** Ends a message's span early with its outcome (the others end with the page). */
    const settle = (message: ConsumedMessage, outcome: 'rejected' | 'duplicate', error?: unknown) => {
      const span = spans?.get(message);
      if (!span) return;
      span.setAttribute(ATTR.outcome, outcome);
      if (error !== undefined) {
        span.setAttribute(ATTR.rejection, String((error as Error)?.message ?? error).slice(0, 500));
        failSpan(span, error);
      }
      span.end();
      spans!.delete(message);
    };
    const reject = (message: ConsumedMessage, error: unknown) => {
      rejected.push({ message, error });
      this.counters.rejected++;
      const span = spans?.get(message);
      settle(message, 'rejected', error);
      // Logged in the message's span: the line carries its trace id.
      if (span) context.with(trace.setSpan(context.active(), span), () => this.options.onRejected?.(message, error));
      else this.options.onRejected?.(message, error);
    };

    let entries: Entry[] = [];
    const seen = new Set<string>();
    const maxBytes = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    for (const message of messages) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long value is measured.
      if (message.value.length * 3 > maxBytes && Buffer.byteLength(message.value) > maxBytes) {
        reject(message, new MessageTooLargeError(Buffer.byteLength(message.value), maxBytes));
        continue;
      }
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(message);
      } catch (err) {
        reject(message, err);
        continue;
      }
      const resolution = handlers.resolve(envelope.type, message.topic, consumer);
      if (resolution === 'ignore') {
        this.counters.ignored++;
        continue;
      }
      if ('rejected' in resolution) {
        reject(message, new NonRetriableError(resolution.rejected));
        continue;
      }
      let data: unknown;
      try {
        data = resolution.contract.read(envelope);
      } catch (err) {
        reject(message, asRejection(err));
        continue;
      }
      // The same message twice in one page (a publisher's retry): handled once.
      if (seen.has(envelope.id)) {
        this.counters.duplicates++;
        continue;
      }
      seen.add(envelope.id);
      const span = spans ? this.processSpan(message, envelope) : undefined;
      if (span) spans!.set(message, span);
      entries.push({
        message,
        envelope,
        data,
        handler: resolution.handler,
        inbound: { id: envelope.id, data, contract: resolution.contract, envelope, bus: message },
        ...(span ? { span } : {}),
      });
    }
    if (entries.length === 0) return { rejected };

    const done = await this.options.inbox.handled(consumer, entries.map((e) => e.envelope.id));
    if (done.size > 0) {
      this.counters.duplicates += entries.filter((e) => done.has(e.envelope.id)).length;
      for (const e of entries) if (done.has(e.envelope.id)) settle(e.message, 'duplicate');
      entries = entries.filter((e) => !done.has(e.envelope.id));
    }

    const maxConflicts = this.options.maxConflictAttempts ?? 10;
    let fresh = false;
    for (let conflicts = 0; entries.length > 0; ) {
      const unit = new UnitOfWork(this.options.store, this.options.cache);
      const failures = await this.run(unit, entries);
      if (failures.retriable) {
        unit.forgetCached();
        throw failures.retriable;
      }
      if (failures.rejected.length > 0) {
        if (!fresh && unit.usedCache) {
          // A rule broken against a cached state may hold no more against the
          // stream as it is (another writer moved it): decide again on what is
          // stored before rejecting anything.
          unit.forgetCached();
          fresh = true;
          continue;
        }
        // Run again without them: nothing a rejected message staged may be committed.
        const out = new Set(failures.rejected.map((f) => f.entry));
        for (const f of failures.rejected) reject(f.entry.message, f.error);
        entries = entries.filter((e) => !out.has(e));
        continue;
      }
      try {
        await unit.commit({ inbox: { consumer, messageIds: entries.map((e) => e.envelope.id) } });
        this.counters.handled += entries.length;
        return { rejected };
      } catch (err) {
        if (err instanceof AlreadyHandledError) {
          // Another member of the group committed these meanwhile (a rebalance): they are done.
          const ids = new Set(err.messageIds);
          this.counters.duplicates += ids.size;
          for (const e of entries) if (ids.has(e.envelope.id)) settle(e.message, 'duplicate');
          entries = entries.filter((e) => !ids.has(e.envelope.id));
          continue;
        }
        if (err instanceof DuplicateEventIdError) {
          // Some message reuses an event id stored in another stream: find it, commit the others.
          const poisoned = await this.isolateDuplicates(entries);
          for (const e of poisoned) reject(e.message, new NonRetriableError(`${e.envelope.type} ${e.envelope.id}: ${err.message}`, { cause: err }));
          this.counters.handled += entries.length - poisoned.length;
          return { rejected };
        }
        if (!(err instanceof CommitConflictError) || ++conflicts >= maxConflicts) throw err;
        this.counters.conflicts++;
        await sleep(Math.random() * Math.min(50, 2 ** conflicts));
      }
    }
    return { rejected };
  }

  /**
   * One unit per message, in order: those whose commit reuses an event id
   * already stored elsewhere are returned (no retry changes that); the rest
   * are committed. Conflicts and other failures are thrown, as for a page.
   */
  private async isolateDuplicates(entries: Entry[]): Promise<Entry[]> {
    const poisoned: Entry[] = [];
    for (const entry of entries) {
      for (let conflicts = 0; ; ) {
        const unit = new UnitOfWork(this.options.store, this.options.cache);
        const failures = await this.run(unit, [entry]);
        if (failures.retriable) throw failures.retriable;
        if (failures.rejected.length > 0) {
          poisoned.push(entry);
          break;
        }
        try {
          await unit.commit({ inbox: { consumer: this.options.consumer, messageIds: [entry.envelope.id] } });
          break;
        } catch (err) {
          if (err instanceof DuplicateEventIdError) {
            poisoned.push(entry);
            break;
          }
          if (err instanceof AlreadyHandledError) break;
          if (!(err instanceof CommitConflictError) || ++conflicts >= 10) throw err;
        }
      }
    }
    return poisoned;
  }

  /** Runs the handlers of a page in `unit`: keys concurrently, each key's messages in order. */
  private async run(unit: UnitOfWork, entries: Entry[]): Promise<{ rejected: { entry: Entry; error: unknown }[]; retriable?: unknown }> {
    const byKey = new Map<string, Entry[]>();
    for (const e of entries) {
      const list = byKey.get(e.message.key);
      if (list) list.push(e);
      else byKey.set(e.message.key, [e]);
    }
    const rejected: { entry: Entry; error: unknown }[] = [];
    let retriable: unknown;
    await Promise.all(
      [...byKey.values()].map(async (list) => {
        for (const entry of list) {
          if (retriable !== undefined) return;
          try {
            // What the handler stores carries its message's span as trace context. The handler does not run
            // with that span active: the page's database work (its loads, the inbox query, the commit) serves
            // every message of the page, so it belongs to no one order's trace, and pg spans for it would
            // cost a third of tracing's price in bench:saga for nothing a trace can use.
            const metadata = entry.span ? { ...metadataOf(entry.envelope), ...carrierOf(trace.setSpan(ROOT_CONTEXT, entry.span)) } : metadataOf(entry.envelope);
            await entry.handler(entry.inbound, new Work(unit, { key: entry.envelope.id, metadata }));
          } catch (err) {
            if (isRejection(err)) rejected.push({ entry, error: asRejection(err) });
            else retriable ??= err;
          }
        }
      }),
    );
    return retriable !== undefined ? { rejected, retriable } : { rejected };
  }

  /** `process <topic>`: continues the producer's span, and links to it (the message's creation context). */
  private processSpan(message: ConsumedMessage, envelope: Envelope): Span {
    const parent = contextOf(envelope);
    return startLinkedSpan(`process ${message.topic}`, parent, {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR.messagingOperationType]: 'process',
        [ATTR.messagingOperationName]: 'process',
        [ATTR.messagingDestination]: message.topic,
        [ATTR.messagingPartition]: String(message.partition),
        [ATTR.messagingConsumerGroup]: this.options.consumer,
        [ATTR.messagingMessageId]: envelope.id,
        [ATTR.messagingConversationId]: envelope.correlationid,
        [ATTR.messagingKafkaKey]: message.key,
        [ATTR.messagingKafkaOffset]: message.offset,
        [ATTR.messageType]: envelope.type,
      },
    });
  }
}

/** What the events a message causes carry: its correlation, itself as their cause, its trace context. */
export function metadataOf(envelope: Envelope): EventMetadata {
  return {
    correlationId: envelope.correlationid,
    causationId: envelope.id,
    ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
    ...(envelope.tracestate ? { tracestate: envelope.tracestate } : {}),
  };
}

/**
 * A message no retry can fix: it does not decode, or breaks a rule
 * (a `NonRetriableError`, or a `PlatformError` with a 4xx meaning other than
 * a concurrency conflict, such as confirming an order that was rejected).
 */
export function isRejection(err: unknown): boolean {
  return err instanceof NonRetriableError || (err instanceof PlatformError && err.status < 500 && !(err instanceof ConcurrencyError));
}

function asRejection(err: unknown): unknown {
  if (err instanceof NonRetriableError) return err;
  if (err instanceof PlatformError) return new NonRetriableError(`${err.name}: ${err.message}`, { cause: err });
  return err;
}
