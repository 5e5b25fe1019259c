import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrongExpectedRevisionError } from '../src/event-store/event-store';
import { z } from 'zod';
import type { Decider } from '../src/event-store/decider';
import { eventCodec } from '../src/event-store/event-codec';
import { executeCommand } from '../src/event-store/execute-command';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { deterministicId } from '../src/ids/deterministic-id';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';

type Event = { type: 'Taken'; n: number };
/** Take a seat while fewer than `capacity` are taken; `capacity` absent: take one regardless. */
type Take = { capacity?: number };
const seats: Decider<Take, { taken: number }, Event> = {
  initialState: { taken: 0 },
  evolve: (s, e) => ({ taken: s.taken + e.n }),
  decide: (command, s) => (command.capacity === undefined || s.taken < command.capacity ? [{ type: 'Taken', n: 1 }] : []),
  codec: eventCodec<Event>({ Taken: z.object({ n: z.number().int() }) }),
};
const take = (capacity: number): Take => ({ capacity });

describe('executeCommand', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let knex: Knex;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createTestDatabase('execute_command');
    knex = createKnex(db);
    await runMigrations(knex, 'event_store', eventStoreMigrations);
    store = new PostgresEventStore({ connection: db });
  });
  afterAll(async () => {
    await store.close();
    await knex.destroy();
    await db.drop();
  });

  it('retries on conflicts so that concurrent commands never exceed what the decision allows', async () => {
    const streamId = `seats-${randomUUID()}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => executeCommand({ store, streamId, decider: seats, command: take(10), maxAttempts: 50 })),
    );
    const appended = outcomes.filter((o) => o.status === 'fulfilled' && o.value.events.length === 1);
    expect(appended).toHaveLength(10);
    expect(await store.readStream(streamId)).toHaveLength(10);
  });

  it('gives up with the concurrency error after its bounded attempts', async () => {
    const streamId = `seats-${randomUUID()}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () => executeCommand({ store, streamId, decider: seats, command: take(1_000), maxAttempts: 1 })),
    );
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(await store.readStream(streamId)).toHaveLength(20 - failed.length);
  });

  it('never appends the events of one message twice: derived ids are refused on a redelivery', async () => {
    const streamId = `seats-${randomUUID()}`;
    const messageId = randomUUID();
    const run = () =>
      executeCommand({ store, streamId, decider: seats, command: {}, eventId: (i) => deterministicId(messageId, i) });
    const first = await run();
    await expect(run()).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(first.result).toBeDefined();
    expect(deterministicId(messageId, 0)).toBe(deterministicId(messageId, 0));
    expect(deterministicId(messageId, 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await store.readStream(streamId)).toHaveLength(1);
  });
});
