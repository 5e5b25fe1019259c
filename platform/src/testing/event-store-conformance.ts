import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../process/wait-for';
import {
  CommitConflictError,
  DuplicateEventIdError,
  InvalidAppendError,
  WrongExpectedRevisionError,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '../event-store/event-store';

export interface EventStoreFixture {
  store: EventStore;
  /**
   * Makes appends commit slowly and at random (after their positions are
   * taken, before commit) for the gap-safety test, or turns that off.
   */
  setSlowCommits(enabled: boolean): Promise<void>;
  /** Another client of the same store, as a second instance of a service would have. Closed by `close`. */
  openAnotherClient(): Promise<EventStore>;
  close(): Promise<void>;
}

const event = (type: string, data: Record<string, unknown> = {}, extra: Partial<EventToAppend> = {}): EventToAppend => ({
  type,
  data,
  ...extra,
});

const newStream = (category = 'conformance') => `${category}-${randomUUID()}`;

/**
 * The promises of the EventStore port. Every adapter runs this same suite:
 * `describeEventStoreConformance('postgres', () => fixture)`.
 */
export function describeEventStoreConformance(adapter: string, createFixture: () => Promise<EventStoreFixture>): void {
  describe(`EventStore conformance: ${adapter}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;

    beforeAll(async () => {
      fixture = await createFixture();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.close();
    });

    describe('appending with an expected revision', () => {
      it('creates a stream with no_stream and numbers its events from revision 0', async () => {
        const stream = newStream();
        const result = await store.append(stream, [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(2);
        const events = await store.readStream(stream);
        expect(events.map((e) => [e.type, e.revision])).toEqual([
          ['A', 0],
          ['B', 1],
          ['C', 2],
        ]);
        expect(result.position).toBe(events[2]!.position);
        expect(events[0]!.position).toBeLessThan(events[1]!.position);
      });

      it('appends at the exact revision and rejects a stale one with the actual revision', async () => {
        const stream = newStream();
        await store.append(stream, [event('A'), event('B')]);
        const ok = await store.append(stream, [event('C')], { expectedRevision: 1 });
        expect(ok.nextExpectedRevision).toBe(2);
        const err = await store.append(stream, [event('D')], { expectedRevision: 1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WrongExpectedRevisionError);
        expect((err as WrongExpectedRevisionError).actual).toBe(2);
        expect((err as WrongExpectedRevisionError).status).toBe(409);
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('rejects no_stream on an existing stream and stream_exists on a missing one', async () => {
        const stream = newStream();
        await expect(store.append(stream, [event('A')], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await store.append(stream, [event('A')], { expectedRevision: 'no_stream' });
        await expect(store.append(stream, [event('B')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        const ok = await store.append(stream, [event('B')], { expectedRevision: 'stream_exists' });
        expect(ok.nextExpectedRevision).toBe(1);
      });

      it('appends with any whatever the stream holds', async () => {
        const stream = newStream();
        expect((await store.append(stream, [event('A')], { expectedRevision: 'any' })).nextExpectedRevision).toBe(0);
        expect((await store.append(stream, [event('B')])).nextExpectedRevision).toBe(1);
      });

      it('lets exactly one of many concurrent appends at the same revision win', async () => {
        const stream = newStream();
        await store.append(stream, [event('Opened')]);
        const attempts = await Promise.allSettled(
          Array.from({ length: 25 }, (_, i) => store.append(stream, [event('Raced', { i })], { expectedRevision: 0 })),
        );
        const won = attempts.filter((a) => a.status === 'fulfilled');
        const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(24);
        for (const l of lost) expect(l.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('gives concurrent appends to different streams distinct, increasing positions', async () => {
        const streams = Array.from({ length: 40 }, () => newStream());
        const results = await Promise.all(streams.map((s) => store.append(s, [event('A'), event('B')])));
        const positions = results.map((r) => r.position);
        expect(new Set(positions).size).toBe(positions.length);
        for (const [i, s] of streams.entries()) {
          const events = await store.readStream(s);
          expect(events[1]!.position).toBe(results[i]!.position);
        }
      });
    });

    describe('idempotency by event id', () => {
      it('treats a retried append with the same ids and expectation as a no-op', async () => {
        const stream = newStream();
        const batch = [event('A', {}, { id: randomUUID() }), event('B', {}, { id: randomUUID() })];
        const first = await store.append(stream, batch, { expectedRevision: 'no_stream' });
        const headBefore = await store.headPosition();
        const retry = await store.append(stream, batch, { expectedRevision: 'no_stream' });
        expect(retry).toEqual(first);
        expect(await store.headPosition()).toBe(headBefore);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('absorbs concurrent retries of one append', async () => {
        const stream = newStream();
        const batch = [event('A', {}, { id: randomUUID() })];
        const results = await Promise.all(Array.from({ length: 10 }, () => store.append(stream, batch)));
        expect(new Set(results.map((r) => r.position)).size).toBe(1);
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('rejects an append that reuses only some ids, or ids of another stream, and writes nothing', async () => {
        const stream = newStream();
        const a = event('A', {}, { id: randomUUID() });
        await store.append(stream, [a]);
        const head = await store.headPosition();
        await expect(store.append(stream, [a, event('B', {}, { id: randomUUID() })])).rejects.toBeInstanceOf(
          DuplicateEventIdError,
        );
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(stream)).toHaveLength(1);
        // The same id in another stream: refused where the store declares ids unique across streams, else that stream's own event.
        const other = newStream();
        const reused = store.append(other, [a]);
        if (store.guarantees.eventIdsUniqueAcrossStreams) {
          await expect(reused).rejects.toBeInstanceOf(DuplicateEventIdError);
          expect(await store.headPosition()).toBe(head);
          expect(await store.readStream(other)).toEqual([]);
        } else {
          await reused;
          expect((await store.readStream(other)).map((e) => [e.id, e.revision])).toEqual([[a.id, 0]]);
        }
        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    describe('reading a stream', () => {
      it('reads forwards and backwards from a revision with a maximum count', async () => {
        const stream = newStream();
        await store.append(stream, ['E0', 'E1', 'E2', 'E3', 'E4'].map((t) => event(t)));
        const types = (events: RecordedEvent[]) => events.map((e) => e.type);
        expect(types(await store.readStream(stream))).toEqual(['E0', 'E1', 'E2', 'E3', 'E4']);
        expect(types(await store.readStream(stream, { fromRevision: 2, maxCount: 2 }))).toEqual(['E2', 'E3']);
        expect(types(await store.readStream(stream, { direction: 'backwards' }))).toEqual(['E4', 'E3', 'E2', 'E1', 'E0']);
        expect(types(await store.readStream(stream, { direction: 'backwards', fromRevision: 3, maxCount: 2 }))).toEqual([
          'E3',
          'E2',
        ]);
        expect(await store.readStream(newStream())).toEqual([]);
      });

      it('returns type, schema version, data, metadata and the recorded time', async () => {
        const stream = newStream();
        const id = randomUUID();
        const metadata = {
          correlationId: 'corr-1',
          causationId: 'cause-1',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        };
        const before = Date.now();
        await store.append(stream, [
          { id, type: 'PriceChanged', schemaVersion: 2, data: { price: { amount: 1999, currency: 'EUR' }, tags: ['a'] }, metadata },
        ]);
        const [e] = await store.readStream(stream);
        expect(e).toMatchObject({ id, streamId: stream, revision: 0, type: 'PriceChanged', schemaVersion: 2 });
        expect(e!.data).toEqual({ price: { amount: 1999, currency: 'EUR' }, tags: ['a'] });
        expect(e!.metadata).toMatchObject(metadata);
        expect(e!.recordedAt).toBeInstanceOf(Date);
        expect(e!.recordedAt.getTime()).toBeGreaterThan(before - 60_000);
      });
    });

    describe('reading several streams at once', () => {
      it('reads each stream forwards from its own revision, and nothing for a stream that does not exist', async () => {
        const [a, b, missing] = [newStream(), newStream(), newStream()];
        await store.append(a, [event('A0'), event('A1'), event('A2')]);
        await store.append(b, [event('B0'), event('B1')]);
        const read = await store.readStreams([{ streamId: a, fromRevision: 1 }, { streamId: b }, { streamId: missing }]);
        expect(read.get(a)!.map((e) => [e.type, e.revision])).toEqual([
          ['A1', 1],
          ['A2', 2],
        ]);
        expect(read.get(b)!.map((e) => e.type)).toEqual(['B0', 'B1']);
        expect(read.get(missing)).toEqual([]);
      });
    });

    describe('committing a unit of work', () => {
      it('appends to several streams at once, keeping the order decided across them in the global log', async () => {
        const [a, b] = [newStream(), newStream()];
        await store.append(a, [event('Before')]);
        // Positions need not be dense (EventStoreDB's are log offsets): read from the head before the unit.
        const before = await store.headPosition();
        const result = await store.commit({
          streams: [
            { streamId: a, expectedRevision: 0 },
            { streamId: b, expectedRevision: 'no_stream' },
          ],
          events: [
            { streamId: b, ...event('B0') },
            { streamId: a, ...event('A1') },
            { streamId: b, ...event('B1') },
          ],
        });
        expect(result.revisions).toEqual({ [a]: 1, [b]: 1 });
        const log = (await store.readAll({ fromPosition: before, maxCount: 3 })).events;
        expect(log.map((e) => [e.streamId, e.type, e.revision])).toEqual([
          [b, 'B0', 0],
          [a, 'A1', 1],
          [b, 'B1', 1],
        ]);
        expect(result.position).toBe(log[2]!.position);
      });

      it('writes nothing when one expectation fails, naming every stream that moved, a stream only read included', async () => {
        const [a, b, readOnly] = [newStream(), newStream(), newStream()];
        await store.append(a, [event('A0')]);
        await store.append(readOnly, [event('R0'), event('R1')]);
        const head = await store.headPosition();
        let caught: unknown;
        try {
          await store.commit({
            streams: [
              { streamId: a, expectedRevision: 0 },
              { streamId: b, expectedRevision: 'no_stream' },
              // Read at revision 0, moved since: the decisions were taken on a state that is gone.
              { streamId: readOnly, expectedRevision: 0 },
            ],
            events: [
              { streamId: a, ...event('A1') },
              { streamId: b, ...event('B0') },
            ],
          });
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(CommitConflictError);
        expect(caught).toBeInstanceOf(WrongExpectedRevisionError);
        expect((caught as CommitConflictError).conflicts).toEqual([{ streamId: readOnly, expected: 0, actual: 1 }]);
        expect(await store.headPosition()).toBe(head);
        expect((await store.readStream(a)).map((e) => e.type)).toEqual(['A0']);
        expect(await store.readStream(b)).toEqual([]);
      });

      it('treats a retried unit, every event id stored already in its stream, as done', async () => {
        const [a, b] = [newStream(), newStream()];
        const unit = {
          streams: [
            { streamId: a, expectedRevision: 'no_stream' as const },
            { streamId: b, expectedRevision: 'no_stream' as const },
          ],
          events: [
            { streamId: a, ...event('A0', {}, { id: randomUUID() }) },
            { streamId: b, ...event('B0', {}, { id: randomUUID() }) },
          ],
        };
        const first = await store.commit(unit);
        const head = await store.headPosition();
        expect(await store.commit(unit)).toEqual(first);
        expect(await store.headPosition()).toBe(head);
      });

      it('refuses a unit that reuses an event id of another stream where ids are unique across streams, writing nothing', async () => {
        const [a, b] = [newStream(), newStream()];
        const id = randomUUID();
        await store.append(a, [event('A0', {}, { id })]);
        const reused = store.commit({
          streams: [{ streamId: b, expectedRevision: 'any' }],
          events: [
            { streamId: b, ...event('B0', {}, { id: randomUUID() }) },
            { streamId: b, ...event('B1', {}, { id }) },
          ],
        });
        if (store.guarantees.eventIdsUniqueAcrossStreams) {
          await expect(reused).rejects.toBeInstanceOf(DuplicateEventIdError);
          expect(await store.readStream(b)).toEqual([]);
        } else {
          await reused;
          expect((await store.readStream(b)).map((e) => e.type)).toEqual(['B0', 'B1']);
        }
        expect((await store.readStream(a)).map((e) => e.type)).toEqual(['A0']);
      });

      it('refuses a unit that reuses an id already in the same stream, writing nothing', async () => {
        const [a, b] = [newStream(), newStream()];
        const id = randomUUID();
        await store.append(a, [event('A0', {}, { id })]);
        const head = await store.headPosition();
        await expect(
          store.commit({
            streams: [
              { streamId: a, expectedRevision: 'any' },
              { streamId: b, expectedRevision: 'no_stream' },
            ],
            events: [
              { streamId: b, ...event('B0', {}, { id: randomUUID() }) },
              { streamId: a, ...event('A1', {}, { id: randomUUID() }) },
              { streamId: a, ...event('A2', {}, { id }) },
            ],
          }),
        ).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await store.headPosition()).toBe(head);
        expect(await store.readStream(b)).toEqual([]);
      });

      it('refuses bad input with a typed validation error: an event for a stream the unit does not list, a stream listed twice', async () => {
        const a = newStream();
        await expect(store.commit({ streams: [], events: [{ streamId: a, ...event('A0') }] })).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(
          store.commit({
            streams: [
              { streamId: a, expectedRevision: 'any' },
              { streamId: a, expectedRevision: 'any' },
            ],
            events: [],
          }),
        ).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.commit({ streams: [{ streamId: a, expectedRevision: 'any' }], events: [{ streamId: a, type: '', data: {} }] })).rejects.toBeInstanceOf(
          InvalidAppendError,
        );
        expect(await store.readStream(a)).toEqual([]);
      });
    });

    describe('reading the global log', () => {
      it('reads after a position, with a limit, in position order', async () => {
        const from = await store.headPosition();
        const streams = [newStream(), newStream()];
        await store.append(streams[0]!, [event('A'), event('B')]);
        await store.append(streams[1]!, [event('C')]);
        const page = await store.readAll({ fromPosition: from, maxCount: 2 });
        expect(page.events.map((e) => e.type)).toEqual(['A', 'B']);
        expect(page.scannedTo).toBe(page.events[1]!.position);
        const rest = await store.readAll({ fromPosition: page.scannedTo });
        expect(rest.events.map((e) => e.type)).toEqual(['C']);
        expect(rest.scannedTo).toBe(await store.headPosition());
      });

      it('filters by category and by stream prefix', async () => {
        const from = await store.headPosition();
        const cat = `cat${randomUUID().slice(0, 8)}`;
        const other = `oth${randomUUID().slice(0, 8)}`;
        await store.append(`${cat}-1`, [event('In1')]);
        await store.append(`${other}-1`, [event('Out')]);
        await store.append(`${cat}-2`, [event('In2')]);
        const byCategory = await store.readAll({ fromPosition: from, filter: { categories: [cat] } });
        expect(byCategory.events.map((e) => e.type)).toEqual(['In1', 'In2']);
        const byPrefix = await store.readAll({ fromPosition: from, filter: { streamPrefix: `${cat}-2` } });
        expect(byPrefix.events.map((e) => e.type)).toEqual(['In2']);
        const none = await store.readAll({ fromPosition: from, filter: { categories: ['nothing'] } });
        expect(none.events).toEqual([]);
        expect(none.scannedTo).toBeGreaterThanOrEqual(byCategory.events[1]!.position);
      });

      it('filters by event type, alone or with a category', async () => {
        const from = await store.headPosition();
        const cat = `typ${randomUUID().slice(0, 8)}`;
        await store.append(`${cat}-1`, [event('Wanted'), event('Other'), event('Also')]);
        await store.append(`oth${randomUUID().slice(0, 8)}-1`, [event('Wanted')]);
        const byType = await store.readAll({ fromPosition: from, filter: { types: ['Wanted', 'Also'] } });
        expect(byType.events.map((e) => e.type)).toEqual(['Wanted', 'Also', 'Wanted']);
        const both = await store.readAll({ fromPosition: from, filter: { categories: [cat], types: ['Wanted'] } });
        expect(both.events.map((e) => `${e.streamId}:${e.type}`)).toEqual([`${cat}-1:Wanted`]);
        // Pages of matches; the checkpoint still moves past everything considered.
        const first = await store.readAll({ fromPosition: from, maxCount: 1, filter: { types: ['Wanted', 'Also'] } });
        expect(first.events.map((e) => e.type)).toEqual(['Wanted']);
        expect(first.scannedTo).toBe(first.events[0]!.position);
        const rest = await store.readAll({ fromPosition: first.scannedTo, filter: { types: ['Wanted', 'Also'] } });
        expect(rest.events.map((e) => e.type)).toEqual(['Also', 'Wanted']);
        expect(rest.scannedTo).toBe(await store.headPosition());
      });

      it('leaves the metadata out when asked to, and nothing else', async () => {
        const from = await store.headPosition();
        const stream = newStream();
        await store.append(stream, [event('A'), event('B')].map((e) => ({ ...e, metadata: { correlationId: randomUUID(), note: 'x' } })));
        const full = await store.readAll({ fromPosition: from });
        const bare = await store.readAll({ fromPosition: from, withMetadata: false });
        expect(full.events[0]!.metadata).toMatchObject({ note: 'x' });
        expect(bare.events.map((e) => e.metadata)).toEqual([{}, {}]);
        expect(bare).toEqual({ ...full, events: full.events.map((e) => ({ ...e, metadata: {} })) });
      });
    });

    describe('subscribing to the global log', () => {
      it('catches up from a checkpoint, then delivers new appends live, in order', async () => {
        const checkpoint = await store.headPosition();
        const stream = newStream('sub');
        await store.append(stream, [event('Before1'), event('Before2')]);
        const seen: RecordedEvent[] = [];
        const sub = store.subscribeToAll({
          fromPosition: checkpoint,
          filter: { categories: ['sub'] },
          onPage: async (page) => {
            seen.push(...page.events.filter((e) => e.streamId === stream));
          },
        });
        await waitFor(() => seen.length === 2);
        await store.append(stream, [event('Live1')]);
        await store.append(stream, [event('Live2')]);
        await waitFor(() => seen.length === 4);
        await sub.stop();
        expect(seen.map((e) => e.type)).toEqual(['Before1', 'Before2', 'Live1', 'Live2']);
        await expect(sub.done).resolves.toBeUndefined();
      });

      it('ends with the handler error so the caller can resume from its checkpoint', async () => {
        const checkpoint = await store.headPosition();
        await store.append(newStream(), [event('Boom')]);
        const sub = store.subscribeToAll({
          fromPosition: checkpoint,
          onPage: () => Promise.reject(new Error('handler failed')),
        });
        await expect(sub.done).rejects.toThrow('handler failed');
      });

      it('never lets a subscriber skip or reorder events that commit late with a lower position', async () => {
        // Four clients, as four instances of a service would be, so that
        // append transactions really run side by side.
        const clients = [store, ...(await Promise.all([1, 2, 3].map(() => fixture.openAnotherClient())))];
        await fixture.setSlowCommits(true);
        const start = await store.headPosition();
        const writers = 16;
        const appendsPerWriter = 40;
        const subscribers = Array.from({ length: 3 }, () => collectFrom(store, start));
        try {
          await Promise.all(
            Array.from({ length: writers }, async (_, w) => {
              for (let i = 0; i < appendsPerWriter; i++) {
                const size = 1 + ((w + i) % 3);
                await clients[w % clients.length]!.append(
                  `gap-${w}-${i % 4}`,
                  Array.from({ length: size }, (_, k) => event('Written', { w, i, k })),
                );
              }
            }),
          );
          // A subscriber that starts mid-flight catches up the same way.
          subscribers.push(collectFrom(store, start));
        } finally {
          await fixture.setSlowCommits(false);
        }
        const head = await store.headPosition();
        const log: RecordedEvent[] = [];
        for (let from = start; ; ) {
          const page = await store.readAll({ fromPosition: from, maxCount: 1000 });
          log.push(...page.events);
          if (page.events.length < 1000) break;
          from = page.scannedTo;
        }
        const expectedIds = log.map((e) => e.id);
        expect(expectedIds.length).toBeGreaterThan(writers * appendsPerWriter);
        for (const sub of subscribers) {
          await waitFor(() => sub.lastPosition() >= head, 30_000);
          await sub.stop();
          expect(sub.ids()).toEqual(expectedIds);
          expect(sub.outOfOrder).toBe(0);
        }
      });
    });

    describe('bad input', () => {
      const cases: [string, () => Promise<unknown>][] = [
        ['an empty stream id', () => store.append('', [event('A')])],
        ['a non-string stream id', () => store.append(42 as unknown as string, [event('A')])],
        ['a negative revision', () => store.append(newStream(), [event('A')], { expectedRevision: -1 })],
        ['a fractional revision', () => store.append(newStream(), [event('A')], { expectedRevision: 1.5 })],
        ['no events', () => store.append(newStream(), [])],
        ['an empty event type', () => store.append(newStream(), [event('')])],
        ['a bigint in the payload', () => store.append(newStream(), [event('A', { n: 10n })])],
        ['a function in the payload', () => store.append(newStream(), [event('A', { f: () => 1 })])],
        ['NaN in the payload', () => store.append(newStream(), [event('A', { n: Number.NaN })])],
        ['a Date in the payload', () => store.append(newStream(), [event('A', { at: new Date() })])],
        [
          'a circular payload',
          () => {
            const data: Record<string, unknown> = {};
            data.self = data;
            return store.append(newStream(), [event('A', data)]);
          },
        ],
        ['an event id that is not a UUID', () => store.append(newStream(), [event('A', {}, { id: 'nope' })])],
        ['a stream id starting with $ (a system stream on EventStoreDB)', () => store.append(`$ce-${newStream()}`, [event('A')])],
        ['a stream id starting with inbox~ (where the EventStoreDB adapter keeps inbox markers)', () => store.append(`inbox~${newStream()}`, [event('A')])],
        ['an event type starting with $ (a system event on EventStoreDB)', () => store.append(newStream(), [event('$metadata')])],
        [
          'a unit whose event type starts with $',
          () => {
            const s = newStream();
            return store.commit({ streams: [{ streamId: s, expectedRevision: 'no_stream' }], events: [{ streamId: s, ...event('$by-category') }] });
          },
        ],
        [
          'one event id twice in an append',
          () => {
            const id = randomUUID();
            return store.append(newStream(), [event('A', {}, { id }), event('B', {}, { id })]);
          },
        ],
      ];
      for (const [name, attempt] of cases) {
        it(`rejects ${name} with a typed validation error and writes nothing`, async () => {
          const head = await store.headPosition();
          const err = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(InvalidAppendError);
          expect((err as InvalidAppendError).status).toBe(400);
          expect(await store.headPosition()).toBe(head);
        });
      }
    });
  });
}

function collectFrom(store: EventStore, from: number) {
  const events: RecordedEvent[] = [];
  let last = from;
  let outOfOrder = 0;
  const sub = store.subscribeToAll({
    fromPosition: from,
    batchSize: 37,
    onPage: async (page) => {
      for (const e of page.events) {
        if (e.position <= last) outOfOrder++;
        last = e.position;
        events.push(e);
      }
      last = Math.max(last, page.scannedTo);
    },
  });
  return {
    ids: () => events.map((e) => e.id),
    lastPosition: () => last,
    get outOfOrder() {
      return outOfOrder;
    },
    stop: () => sub.stop(),
  };
}

/** Re-exported for the tests that import it from here. */
export { waitFor } from '../process/wait-for';
