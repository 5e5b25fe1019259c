import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyHandledError, CommitConflictError } from '../src/event-store/event-store';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { StreamStateCache, UnitOfWork } from '../src/event-store/unit-of-work';
import { Work, commitWork } from '../src/event-store/work';
import { inboxMigrations } from '../src/inbox/inbox';
import { deterministicId } from '../src/ids/deterministic-id';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';
import { counter, counterStream } from './fixtures/counter-contract';

describe('unit of work', () => {
  let dbConn: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;
  let store: PostgresEventStore;

  beforeAll(async () => {
    dbConn = await createTestDatabase('unit_of_work');
    db = createKnex(dbConn);
    await runMigrations(db, 'event_store', eventStoreMigrations);
    await runMigrations(db, 'inbox', inboxMigrations);
    store = new PostgresEventStore({ connection: dbConn });
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
    await dbConn?.drop();
  });

  const key = () => `k-${randomUUID().slice(0, 8)}`;
  const add = (by: number) => () => [{ type: 'Incremented' as const, by }];
  const seeded = async (k: string, by: number) => {
    await store.append(counterStream(k), [{ type: 'Incremented', data: { by } }]);
    return k;
  };

  it('sends the loads asked for in one turn of the event loop as one read, and reads no cached stream', async () => {
    const keys = await Promise.all([key(), key(), key()].map((k) => seeded(k, 2)));
    const cache = new StreamStateCache();
    const unit = new UnitOfWork(store, cache);
    const states = await Promise.all(keys.map((k) => unit.load(counterStream(k), counter)));
    expect(states).toEqual(keys.map(() => ({ total: 2, increments: 1 })));
    expect(unit.reads).toBe(1);
    await Promise.all(keys.map((k) => unit.execute(counterStream(k), counter, add(1))));
    await unit.commit();
    // The next unit finds them in the cache, at their new revision.
    const next = new UnitOfWork(store, cache);
    expect(await next.load(counterStream(keys[0]!), counter)).toEqual({ total: 3, increments: 2 });
    expect(next.reads).toBe(0);
    expect(next.usedCache).toBe(true);
  });

  it('lets each decision see what earlier ones in the unit staged', async () => {
    const k = key();
    const unit = new UnitOfWork(store);
    await unit.execute(counterStream(k), counter, add(1));
    const { state } = await unit.execute(counterStream(k), counter, (s) => [{ type: 'Incremented', by: s.total * 10 }]);
    expect(state).toEqual({ total: 11, increments: 2 });
    expect(unit.revisionOf(counterStream(k))).toBe(1);
    await unit.commit();
    expect((await store.readStream(counterStream(k))).map((e) => e.data)).toEqual([{ by: 1 }, { by: 10 }]);
  });

  it('refuses a unit decided on a cached state another writer moved, forgets it, and the next unit reads the stream', async () => {
    const k = await seeded(key(), 1);
    const cache = new StreamStateCache();
    const warm = new UnitOfWork(store, cache);
    await warm.execute(counterStream(k), counter, add(1));
    await warm.commit();
    await store.append(counterStream(k), [{ type: 'Incremented', data: { by: 100 } }]); // another process
    const stale = new UnitOfWork(store, cache);
    await stale.execute(counterStream(k), counter, add(1));
    await expect(stale.commit()).rejects.toBeInstanceOf(CommitConflictError);
    expect(cache.get(counterStream(k), counter)).toBeUndefined();
    const retry = new UnitOfWork(store, cache);
    expect(await retry.load(counterStream(k), counter)).toEqual({ total: 102, increments: 3 });
    expect(retry.reads).toBe(1);
  });

  it('refuses a decision to do nothing taken on a stale cached state, so the caller decides again on the stream', async () => {
    const k = await seeded(key(), 1);
    const cache = new StreamStateCache();
    const warm = new UnitOfWork(store, cache);
    await warm.execute(counterStream(k), counter, add(1));
    await warm.commit();
    await store.append(counterStream(k), [{ type: 'Incremented', data: { by: 100 } }]); // another process
    // "Below 50: nothing to do" holds for the cached state (2), not for the stored one (102).
    const stale = new UnitOfWork(store, cache);
    await stale.execute(counterStream(k), counter, (s) => (s.total >= 50 ? [{ type: 'Incremented' as const, by: -s.total }] : []));
    expect(stale.usedCache).toBe(true);
    await expect(stale.commit()).rejects.toBeInstanceOf(CommitConflictError);
    expect(cache.get(counterStream(k), counter)).toBeUndefined();
    // A fresh read of the same decision is checked by nothing and commits.
    const fresh = new UnitOfWork(store);
    await fresh.execute(counterStream(k), counter, () => []);
    await expect(fresh.commit()).resolves.toMatchObject({ position: undefined });
  });

  it('also refuses a unit whose only read stream moved, though it writes elsewhere', async () => {
    const [source, target] = [await seeded(key(), 5), key()];
    const unit = new UnitOfWork(store);
    const read = await unit.load(counterStream(source), counter);
    await unit.execute(counterStream(target), counter, add(read.total));
    await store.append(counterStream(source), [{ type: 'Incremented', data: { by: 1 } }]);
    await expect(unit.commit()).rejects.toBeInstanceOf(CommitConflictError);
    expect(await store.readStream(counterStream(target))).toEqual([]);
  });

  it('records facts without deciding on their stream, with their own ids, and absorbs a retried record', async () => {
    const stream = `archive-${randomUUID()}`;
    const id = randomUUID();
    const fact = { id, type: 'Arrived', data: { n: 1 }, metadata: { correlationId: 'c' } };
    const unit = new UnitOfWork(store);
    unit.record(stream, [fact]);
    await unit.commit();
    const again = new UnitOfWork(store);
    again.record(stream, [fact]);
    await again.commit();
    const stored = await store.readStream(stream);
    expect(stored.map((e) => [e.id, e.type, e.metadata.correlationId])).toEqual([[id, 'Arrived', 'c']]);
  });

  it('records the messages handled with their effects, and refuses a second unit for any of them, writing nothing', async () => {
    const [k, m1, m2] = [key(), randomUUID(), randomUUID()];
    const unit = new UnitOfWork(store);
    await unit.execute(counterStream(k), counter, add(1));
    await unit.commit({ inbox: { consumer: 'uow-test', messageIds: [m1, m2] } });
    expect(await store.handled('uow-test', [m1, m2, randomUUID()])).toEqual(new Set([m1, m2]));
    const twice = new UnitOfWork(store);
    await twice.execute(counterStream(k), counter, add(1));
    const err = await twice.commit({ inbox: { consumer: 'uow-test', messageIds: [randomUUID(), m2] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyHandledError);
    expect((err as AlreadyHandledError).messageIds).toEqual([m2]);
    expect((await store.readStream(counterStream(k))).length).toBe(1);
  });

  it("derives a cause's event ids from its key, the stream and the revision each event takes, so the same work again yields the same ids", async () => {
    const k = key();
    const unit = new UnitOfWork(store);
    const work = new Work(unit, { key: 'message-42', metadata: { correlationId: 'corr' } });
    await work.execute(counterStream(k), counter, add(1));
    await work.execute(counterStream(k), counter, add(2));
    await unit.commit();
    const stored = await store.readStream(counterStream(k));
    expect(stored.map((e) => e.id)).toEqual([deterministicId('message-42', counterStream(k), 0), deterministicId('message-42', counterStream(k), 1)]);
    expect(stored.every((e) => e.metadata.correlationId === 'corr')).toBe(true);

    // The same cause deciding more later, on the state it left: new ids, no collision with its earlier events.
    const later = new UnitOfWork(store);
    const again = new Work(later, { key: 'message-42', metadata: { correlationId: 'corr' } });
    await again.execute(counterStream(k), counter, add(4));
    await later.commit();
    expect((await store.readStream(counterStream(k))).map((e) => e.id)[2]).toBe(deterministicId('message-42', counterStream(k), 2));
  });

  it('serialises concurrent work on one stream: commitWork decides again on the state a concurrent commit left', async () => {
    const k = key();
    const cache = new StreamStateCache();
    await Promise.all(
      Array.from({ length: 12 }, () => commitWork(store, { metadata: {} }, (work) => work.execute(counterStream(k), counter, add(1)), { cache, maxAttempts: 30 })),
    );
    expect((await store.readStream(counterStream(k))).length).toBe(12);
  });
});
