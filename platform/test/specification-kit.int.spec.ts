import type { Knex } from 'knex';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../src/errors/errors';
import type { Decider } from '../src/event-store/decider';
import { eventCodec } from '../src/event-store/event-codec';
import type { Projection } from '../src/projections/projection';
import { createKnex } from '../src/persistence/migrations';
import { createTestDatabase } from '../src/testing';
import { DeciderSpecification, SagaSpecification } from '../src/testing/decider-specification';
import { ProjectionSpecification } from '../src/testing/projection-specification';

// A door: opened and closed, and a saga that asks a locksmith when it is stuck.
type DoorEvent = { type: 'Opened'; by: string } | { type: 'Closed' };
type DoorCommand = { type: 'Open'; by: string } | { type: 'Close' };
type Door = { state: 'absent' | 'open' | 'closed' };
const door: Decider<DoorCommand, Door, DoorEvent> = {
  initialState: { state: 'absent' },
  evolve: (_s, e) => ({ state: e.type === 'Opened' ? 'open' : 'closed' }),
  decide(command, s) {
    if (command.type === 'Open') return s.state === 'open' ? [] : [{ type: 'Opened', by: command.by }];
    if (s.state === 'absent') throw new NotFoundError('no door');
    return s.state === 'closed' ? [] : [{ type: 'Closed' }];
  },
  codec: eventCodec<DoorEvent>({ Opened: z.object({ by: z.string() }), Closed: z.object({}) }),
};

describe('the specification kit', () => {
  describe('DeciderSpecification', () => {
    const spec = DeciderSpecification.for(door);

    it('folds the given events, decides the command, compares the events', () => {
      spec.given([]).when({ type: 'Open', by: 'ann' }).then([{ type: 'Opened', by: 'ann' }]);
      spec.given([{ type: 'Opened', by: 'ann' }]).when({ type: 'Open', by: 'bo' }).thenNothing();
      spec.given([]).when({ type: 'Close' }).thenThrows(NotFoundError, /no door/);
      expect(spec.given([{ type: 'Opened', by: 'ann' }, { type: 'Closed' }]).state).toEqual({ state: 'closed' });
    });

    it('fails when the decision differs from the expected events, or throws otherwise than expected', () => {
      expect(() => spec.given([]).when({ type: 'Open', by: 'ann' }).then([{ type: 'Opened', by: 'bo' }])).toThrow();
      expect(() => spec.given([]).when({ type: 'Open', by: 'ann' }).thenNothing()).toThrow();
      expect(() => spec.given([]).when({ type: 'Close' }).thenThrows(ConflictError)).toThrow();
      expect(() => spec.given([]).when({ type: 'Open', by: 'ann' }).thenThrows(NotFoundError)).toThrow(/should have thrown/);
    });
  });

  describe('SagaSpecification', () => {
    type Input = { type: 'Stuck'; door: string } | { type: 'Fixed'; ticket: string };
    type SagaEvent = { type: 'LocksmithCalled'; ticket: string; door: string } | { type: 'Done' };
    const saga = SagaSpecification.for({
      initialState: { ticket: undefined as string | undefined, done: false },
      evolve: (s, e: SagaEvent) => (e.type === 'LocksmithCalled' ? { ...s, ticket: e.ticket } : { ...s, done: true }),
      decide: (input: Input, s): SagaEvent[] => {
        if (input.type === 'Stuck') return s.ticket ? [] : [{ type: 'LocksmithCalled', ticket: `t-${input.door}`, door: input.door }];
        return input.ticket === s.ticket && !s.done ? [{ type: 'Done' }] : [];
      },
      commandsOf: (events) => events.flatMap((e) => (e.type === 'LocksmithCalled' ? [{ call: 'locksmith', door: e.door }] : [])),
    });

    it('runs the given inputs through decide and evolve, then gives the commands of the next one', () => {
      saga.given([]).when({ type: 'Stuck', door: 'front' }).then([{ call: 'locksmith', door: 'front' }]);
      saga.given([{ type: 'Stuck', door: 'front' }]).when({ type: 'Stuck', door: 'front' }).thenNothing();
      // A reply built from the state reached (it must name the ticket it answers).
      const done = saga.given([{ type: 'Stuck', door: 'front' }]).when((s) => ({ type: 'Fixed', ticket: s.ticket! }));
      expect(done.events).toEqual([{ type: 'Done' }]);
      expect(done.state.done).toBe(true);
      expect(() => saga.given([]).when({ type: 'Stuck', door: 'back' }).then([])).toThrow();
    });
  });

  describe('ProjectionSpecification', () => {
    let dbConn: Awaited<ReturnType<typeof createTestDatabase>>;
    let db: Knex;
    beforeAll(async () => {
      dbConn = await createTestDatabase('spec_kit');
      db = createKnex(dbConn);
    });
    afterAll(async () => {
      await db?.destroy();
      await dbConn?.drop();
    });

    const doorTable = (name: string) => `create table ${name} (door text primary key, state text not null, opened_by text, changes int not null)`;
    /** Idempotent by the event's revision: a row keeps the revision it reflects. */
    const doors: Projection = {
      name: 'doors',
      tables: { doors: (n) => doorTable(n).replace('changes int not null', 'changes int not null, revision int not null') },
      async apply(event, { trx, table }) {
        const e = door.codec.decode(event);
        await trx.raw(
          `insert into ${table('doors')} as t (door, state, opened_by, changes, revision) values (?, ?, ?, 1, ?)
           on conflict (door) do update set state = excluded.state, opened_by = coalesce(excluded.opened_by, t.opened_by), changes = t.changes + 1, revision = excluded.revision
           where t.revision < excluded.revision`,
          [event.streamId, e.type === 'Opened' ? 'open' : 'closed', e.type === 'Opened' ? e.by : null, event.revision],
        );
      },
    };
    const events = [
      { streamId: 'door-a', type: 'Opened', data: { by: 'ann' } },
      { streamId: 'door-b', type: 'Opened', data: { by: 'bo' } },
      { streamId: 'door-a', type: 'Closed', data: {} },
      { streamId: 'door-a', type: 'Opened', data: { by: 'cy' } },
      { streamId: 'door-b', type: 'Closed', data: {} },
    ];

    it('gives the rows of the read model after the events applied once, twice and in pages of every size', async () => {
      const rows = await ProjectionSpecification.for(doors, { db }).given(events).rows();
      expect(rows.doors).toEqual([
        { door: 'door-a', state: 'open', opened_by: 'cy', changes: 3, revision: 2 },
        { door: 'door-b', state: 'closed', opened_by: 'bo', changes: 2, revision: 1 },
      ]);
    });

    it('fails a projection that counts an event applied twice', async () => {
      const counting: Projection = {
        ...doors,
        tables: { doors: doorTable },
        async apply(event, { trx, table }) {
          await trx.raw(
            `insert into ${table('doors')} as t (door, state, changes) values (?, 'seen', 1) on conflict (door) do update set changes = t.changes + 1`,
            [event.streamId],
          );
        },
      };
      await expect(ProjectionSpecification.for(counting, { db }).given(events).rows()).rejects.toThrow(/applied twice/);
    });

    it('leaves no table behind', async () => {
      const left = await db.raw(`select count(*)::int as n from information_schema.tables where table_name like 'doors_spec_%'`);
      expect(left.rows[0].n).toBe(0);
    });
  });
});
