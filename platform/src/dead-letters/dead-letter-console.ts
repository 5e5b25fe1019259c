import type { Knex } from 'knex';
import { DEAD_LETTER_HEADERS, type Bus, type ConsumedMessage, type Consumer } from '../bus/bus';
import { decodeEnvelope } from '../envelope/envelope';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors/errors';
import { WrongExpectedRevisionError, type EventStore } from '../event-store/event-store';
import { foldEvents } from '../event-store/unit-of-work';
import { deterministicId } from '../ids/deterministic-id';
import type { Inbox } from '../inbox/inbox';
import { isRejection, type MessageProcessor } from '../messaging/message-processor';
import {
  DeadLetterSettledError,
  assertPending,
  deadLetterActions,
  deadLetterStream,
  type DeadLetterAction,
  type DeadLetterStatus,
} from './dead-letter-actions';

/** The dead-letter index, in each consuming service's own database. */
export const deadLetterMigrations: Record<string, Knex.Migration> = {
  '0001_dead_letters': {
    up: (knex) =>
      knex.raw(`
        create table dead_letters (
          seq bigserial not null unique,
          id uuid primary key,
          dlq_topic text not null,
          dlq_partition integer not null,
          dlq_offset bigint not null,
          consumer_group text not null,
          original_topic text,
          original_partition integer,
          original_offset bigint,
          message_key text not null,
          message_type text,
          message_id text,
          headers jsonb not null,
          value text not null,
          value_bytes integer not null,
          reason text not null,
          error_name text,
          attempts integer,
          failed_at timestamptz not null,
          indexed_at timestamptz not null default now(),
          -- A cache of the letter's action stream (deadLetter-<id>), which is the record: repaired on every read.
          status text not null default 'pending',
          unique (dlq_topic, dlq_partition, dlq_offset)
        );
        create index dead_letters_status on dead_letters (status, seq)`),
    down: (knex) => knex.raw('drop table dead_letters'),
  },
};

/** The dead-letter topic of a consumer group (the bus's default). */
export function deadLetterTopicOf(group: string): string {
  return `${group}.dead-letter`;
}

/** The consumer group that copies a group's dead letters into the index. */
export function deadLetterIndexGroup(group: string): string {
  return `${group}.dead-letter-console`;
}

/** A dead letter's id: the same for the same message of the same dead-letter topic, whoever indexes it. */
export function deadLetterId(dlqTopic: string, partition: number, offset: number): string {
  return deterministicId('dead-letter', dlqTopic, partition, offset);
}

interface Row {
  seq: string;
  id: string;
  dlq_topic: string;
  dlq_partition: number;
  dlq_offset: string;
  consumer_group: string;
  original_topic: string | null;
  original_partition: number | null;
  original_offset: string | null;
  message_key: string;
  message_type: string | null;
  message_id: string | null;
  headers: Record<string, string>;
  value: string;
  value_bytes: number;
  reason: string;
  error_name: string | null;
  attempts: number | null;
  failed_at: Date;
  status: DeadLetterStatus;
}

/** A dead letter as the console lists it. */
export interface DeadLetterSummary {
  id: string;
  group: string;
  status: DeadLetterStatus;
  topic: string | null;
  partition: number | null;
  offset: number | null;
  key: string;
  type: string | null;
  messageId: string | null;
  reason: string;
  errorName: string | null;
  attempts: number | null;
  bytes: number;
  failedAt: string;
  deadLetter: { topic: string; partition: number; offset: number };
}

/** One dead letter in full: its headers (original and `dlq-*`), its value (the first `VALUE_PREVIEW_CHARS`), and what was done with it. */
export interface DeadLetterDetail extends DeadLetterSummary {
  headers: Record<string, string>;
  value: string;
  valueTruncated: boolean;
  actions: DeadLetterAction[];
}

export const VALUE_PREVIEW_CHARS = 64 * 1024;
const SELECTED_COLUMNS = [
  'seq', 'id', 'dlq_topic', 'dlq_partition', 'dlq_offset', 'consumer_group', 'original_topic', 'original_partition', 'original_offset',
  'message_key', 'message_type', 'message_id', 'headers', 'value_bytes', 'reason', 'error_name', 'attempts', 'failed_at', 'status',
];

function summaryOf(row: Omit<Row, 'value'>): DeadLetterSummary {
  return {
    id: row.id,
    group: row.consumer_group,
    status: row.status,
    topic: row.original_topic,
    partition: row.original_partition,
    offset: row.original_offset === null ? null : Number(row.original_offset),
    key: row.message_key,
    type: row.message_type,
    messageId: row.message_id,
    reason: row.reason,
    errorName: row.error_name,
    attempts: row.attempts,
    bytes: row.value_bytes,
    failedAt: row.failed_at.toISOString(),
    deadLetter: { topic: row.dlq_topic, partition: row.dlq_partition, offset: Number(row.dlq_offset) },
  };
}

/** A dead-lettered message as its index row: what the dead-letter headers say, and the original envelope's type and id when it has them. */
export function indexRowOf(message: ConsumedMessage): Omit<Row, 'seq' | 'status'> {
  const h = message.headers;
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  const failedAt = h[DEAD_LETTER_HEADERS.failedAt] ? new Date(h[DEAD_LETTER_HEADERS.failedAt]!) : message.publishedAt;
  return {
    id: deadLetterId(message.topic, message.partition, message.offset),
    dlq_topic: message.topic,
    dlq_partition: message.partition,
    dlq_offset: String(message.offset),
    consumer_group: h[DEAD_LETTER_HEADERS.group] ?? message.topic.replace(/\.dead-letter$/, ''),
    original_topic: h[DEAD_LETTER_HEADERS.topic] ?? null,
    original_partition: int(h[DEAD_LETTER_HEADERS.partition]),
    original_offset: h[DEAD_LETTER_HEADERS.offset] !== undefined && /^\d+$/.test(h[DEAD_LETTER_HEADERS.offset]!) ? h[DEAD_LETTER_HEADERS.offset]! : null,
    message_key: message.key,
    message_type: h.ce_type ?? null,
    message_id: h.ce_id ?? null,
    headers: h,
    value: message.value,
    value_bytes: Buffer.byteLength(message.value),
    reason: h[DEAD_LETTER_HEADERS.error] ?? 'no reason recorded',
    error_name: h[DEAD_LETTER_HEADERS.errorName] ?? null,
    attempts: int(h[DEAD_LETTER_HEADERS.attempts]),
    failed_at: Number.isNaN(failedAt.getTime()) ? message.publishedAt : failedAt,
  };
}

/** The original message a dead letter carries, as its consumer received it: the dead-letter headers removed. */
export function originalMessageOf(row: Pick<Row, 'headers' | 'value' | 'message_key' | 'original_topic' | 'original_partition' | 'original_offset' | 'failed_at'>): ConsumedMessage {
  const dlqHeaders = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  const headers = Object.fromEntries(Object.entries(row.headers).filter(([k]) => !dlqHeaders.has(k)));
  return {
    topic: row.original_topic ?? '',
    partition: row.original_partition ?? 0,
    offset: Number(row.original_offset ?? 0),
    key: row.message_key,
    value: row.value,
    headers,
    publishedAt: row.failed_at,
    attempt: 1,
  };
}

/** A service consumer group the console can hand a dead letter back to. */
export interface ConsoleGroup {
  group: string;
  processor: Pick<MessageProcessor, 'handle'>;
}

export interface DeadLetterConsoleOptions {
  db: Knex;
  store: Pick<EventStore, 'readStream' | 'append'>;
  inbox: Inbox;
  bus: Pick<Bus, 'consumer'>;
  groups: readonly ConsoleGroup[];
  clock?: () => Date;
}

export interface ListOptions {
  status?: DeadLetterStatus | 'all';
  group?: string;
  limit: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface Operator {
  by: string;
  reason: string;
}

/**
 * A service's dead-letter console. Each of its consumer groups' dead-letter
 * topics is copied into the `dead_letters` index of the service's own
 * database by a consumer of its own (`indexers`), at least once and
 * idempotently (keyed by the dead letter's topic, partition and offset), so
 * the topic stays the source and the console works the same on every bus.
 * An operator lists and reads them, and either replays one — it is handed to
 * its group's `MessageProcessor` as the bus would deliver it, so the inbox
 * applies it at most once however often it is replayed or redelivered — or
 * skips it. Every action is an event on the letter's stream in the service's
 * event store, with who did it and why.
 */
export class DeadLetterConsole {
  private readonly byGroup: Map<string, ConsoleGroup>;
  private readonly clock: () => Date;

  constructor(private readonly options: DeadLetterConsoleOptions) {
    this.byGroup = new Map(options.groups.map((g) => [g.group, g]));
    this.clock = options.clock ?? (() => new Date());
  }

  /** The dead-letter topics it follows. */
  get topics(): string[] {
    return [...this.byGroup.keys()].map(deadLetterTopicOf);
  }

  /** One consumer per group, copying its dead-letter topic into the index. */
  indexers(): { name: string; consumer: Consumer }[] {
    return [...this.byGroup.keys()].map((group) => ({
      name: `dead letters of ${group}`,
      consumer: this.options.bus.consumer({
        groupId: deadLetterIndexGroup(group),
        topics: [deadLetterTopicOf(group)],
        startFrom: 'earliest',
        maxPageSize: 100,
        pageHandler: async (page) => {
          await this.index(page);
          return { rejected: [] };
        },
      }),
    }));
  }

  /** Stores dead letters in the index; one already there is left as it is. */
  async index(messages: readonly ConsumedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.options.db('dead_letters')
      .insert(messages.map((m) => ({ ...indexRowOf(m), headers: JSON.stringify(m.headers) })))
      .onConflict('id')
      .ignore();
  }

  async list(options: ListOptions): Promise<{ items: DeadLetterSummary[]; nextCursor: string | null }> {
    const q = this.options.db('dead_letters').select(SELECTED_COLUMNS).orderBy('seq').limit(options.limit + 1);
    const status = options.status ?? 'pending';
    if (status !== 'all') q.where({ status });
    if (options.group) q.where({ consumer_group: options.group });
    if (options.cursor) q.where('seq', '>', options.cursor);
    const rows = (await q) as Omit<Row, 'value'>[];
    const page = rows.slice(0, options.limit);
    return { items: page.map(summaryOf), nextCursor: rows.length > options.limit ? String(page[page.length - 1]!.seq) : null };
  }

  async get(id: string): Promise<DeadLetterDetail> {
    const row = await this.row(id);
    const { state } = await this.actions(row);
    return this.detail(row, state.actions, state.status);
  }

  /**
   * Hands the letter back to its consumer group through the normal message
   * path. Applied at most once: a message the group's inbox already records
   * is not applied again (`already-handled`). Rejected again: recorded as a
   * failed replay, answered 422 with the reason; the letter stays pending.
   */
  async replay(id: string, operator: Operator): Promise<DeadLetterDetail> {
    const row = await this.row(id);
    const { state, revision } = await this.actions(row);
    this.settled(id, () => assertPending(id, state));
    const target = this.byGroup.get(row.consumer_group);
    if (!target) throw new ConflictError(`no consumer of this service is in group ${row.consumer_group} any more: skip the letter instead`, { id });
    const message = originalMessageOf(row);
    const envelopeId = envelopeIdOf(message);
    let action: DeadLetterAction;
    if (envelopeId && (await this.options.inbox.handled(row.consumer_group, [envelopeId])).has(envelopeId)) {
      action = { type: 'DeadLetterReplayed', ...operator, outcome: 'already-handled', at: this.clock().toISOString() };
    } else {
      try {
        await target.processor.handle(message);
        action = { type: 'DeadLetterReplayed', ...operator, outcome: 'handled', at: this.clock().toISOString() };
      } catch (err) {
        if (!isRejection(err)) throw err;
        const error = (err as Error)?.message ?? String(err);
        await this.record(row, revision, { type: 'DeadLetterReplayFailed', ...operator, error, at: this.clock().toISOString() });
        throw new UnprocessableError(`the replay of dead letter ${id} was rejected again: ${error}`, { id });
      }
    }
    await this.record(row, revision, action);
    return this.get(id);
  }

  /** Settles the letter without applying it. */
  async skip(id: string, operator: Operator): Promise<DeadLetterDetail> {
    const row = await this.row(id);
    const { state, revision } = await this.actions(row);
    this.settled(id, () => assertPending(id, state));
    await this.record(row, revision, { type: 'DeadLetterSkipped', ...operator, at: this.clock().toISOString() });
    return this.get(id);
  }

  private settled(id: string, check: () => void): void {
    try {
      check();
    } catch (err) {
      if (err instanceof DeadLetterSettledError) throw new ConflictError(err.message, { id, status: err.status });
      throw err;
    }
  }

  private async row(id: string): Promise<Row> {
    const row = (await this.options.db('dead_letters').where({ id }).first()) as Row | undefined;
    if (!row) throw new NotFoundError(`dead letter ${id} does not exist`, { id });
    return row;
  }

  /** The letter's actions from its stream (the record), repairing the index's cached status when it lags. */
  private async actions(row: Row) {
    const events = await this.options.store.readStream(deadLetterStream(row.id));
    const state = foldEvents(deadLetterActions, deadLetterActions.initialState, events);
    if (state.status !== row.status) {
      await this.options.db('dead_letters').where({ id: row.id }).update({ status: state.status });
      row.status = state.status;
    }
    return { state, revision: events.length === 0 ? ('no_stream' as const) : events[events.length - 1]!.revision };
  }

  /** Appends the action at the revision it was decided on (a concurrent action answers 409), then updates the index's status. */
  private async record(row: Row, revision: number | 'no_stream', action: DeadLetterAction): Promise<void> {
    const { type, ...data } = action;
    try {
      await this.options.store.append(deadLetterStream(row.id), [{ type, data, metadata: { correlationId: row.message_id ?? row.id } }], {
        expectedRevision: revision,
      });
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError) throw new ConflictError(`dead letter ${row.id} was acted on meanwhile: read it again`, { id: row.id });
      throw err;
    }
    const status = deadLetterActions.evolve({ status: row.status, actions: [] }, action).status;
    await this.options.db('dead_letters').where({ id: row.id }).update({ status });
  }

  private detail(row: Row, actions: DeadLetterAction[], status: DeadLetterStatus): DeadLetterDetail {
    return {
      ...summaryOf({ ...row, status }),
      headers: row.headers,
      value: row.value.length > VALUE_PREVIEW_CHARS ? row.value.slice(0, VALUE_PREVIEW_CHARS) : row.value,
      valueTruncated: row.value.length > VALUE_PREVIEW_CHARS,
      actions,
    };
  }
}

function envelopeIdOf(message: ConsumedMessage): string | undefined {
  try {
    return decodeEnvelope(message).id;
  } catch {
    return undefined;
  }
}
