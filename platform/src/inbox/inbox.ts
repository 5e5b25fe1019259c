import type { Knex } from 'knex';
import type { ConsumedMessage } from '../bus/bus';
import { decodeEnvelope, type Envelope } from '../envelope/envelope';

/** The inbox table, in the consuming service's own database. */
export const inboxMigrations: Record<string, Knex.Migration> = {
  '0001_inbox': {
    up: (knex) =>
      knex.raw(`
        create table inbox_messages (
          consumer text not null,
          message_id text not null,
          handled_at timestamptz not null default now(),
          primary key (consumer, message_id)
        )`),
    down: (knex) => knex.raw('drop table inbox_messages'),
  },
};

/**
 * Which of these messages a consumer has handled already. The Postgres
 * event store answers from its own database, where `EventStore.commit`
 * records handled messages with their effects.
 */
export interface Inbox {
  handled(consumer: string, messageIds: readonly string[]): Promise<Set<string>>;
}

/**
 * Runs `effect` in one transaction with the record that `consumer` handled
 * `messageId`, unless that record already exists. Returns whether the effect
 * ran. Two concurrent deliveries of one message serialise on the primary key:
 * the second waits for the first to commit and then finds the record.
 */
export async function handleOnce(
  db: Knex,
  consumer: string,
  messageId: string,
  effect: (trx: Knex.Transaction) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (trx) => {
    const res = (await trx.raw(
      'insert into inbox_messages (consumer, message_id) values (?, ?) on conflict do nothing returning 1 as fresh',
      [consumer, messageId],
    )) as { rows: unknown[] };
    if (res.rows.length === 0) return false;
    await effect(trx);
    return true;
  });
}

/**
 * A bus handler that decodes the envelope (a message that does not decode is
 * dead-lettered with the reason) and applies `handle` at most once per
 * envelope id, in the same transaction as the inbox record.
 */
export function inboxHandler(
  db: Knex,
  consumer: string,
  handle: (envelope: Envelope, trx: Knex.Transaction, message: ConsumedMessage) => Promise<void>,
): (message: ConsumedMessage) => Promise<void> {
  return async (message) => {
    const env = decodeEnvelope(message);
    await handleOnce(db, consumer, env.id, (trx) => handle(env, trx, message));
  };
}

/**
 * For an effect that cannot share the inbox's transaction (an event-store
 * append goes through the store's own connections): check `isHandled` before
 * the effect and `markHandled` after it. The effect itself must then be
 * idempotent (event ids derived from the message id, deciders that decide
 * nothing the second time), because a crash between the two redelivers it.
 */
export async function isHandled(db: Knex, consumer: string, messageId: string): Promise<boolean> {
  const row: unknown = await db('inbox_messages').where({ consumer, message_id: messageId }).first('message_id');
  return row !== undefined;
}

export async function markHandled(db: Knex, consumer: string, messageId: string): Promise<void> {
  await db.raw('insert into inbox_messages (consumer, message_id) values (?, ?) on conflict do nothing', [consumer, messageId]);
}
