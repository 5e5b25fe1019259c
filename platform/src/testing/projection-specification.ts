import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { expect } from 'vitest';
import type { EventMetadata, RecordedEvent } from '../event-store/event-store';
import { deterministicId } from '../ids/deterministic-id';
import { applyEvents, type Projection } from '../projections/projection';

/** An event as a test writes it: its stream, type and data (ids, revisions and positions are assigned in order). */
export interface GivenEvent {
  streamId: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
  /** Default: one second after the previous event, from 2030-01-01. */
  recordedAt?: Date;
  schemaVersion?: number;
}

/** Recorded events as the log would hold them: positions from 1, revisions per stream from 0, ids from stream and revision. */
export function recordedEvents(events: readonly GivenEvent[]): RecordedEvent[] {
  const revisions = new Map<string, number>();
  const t0 = Date.parse('2030-01-01T00:00:00.000Z');
  return events.map((e, i) => {
    const revision = (revisions.get(e.streamId) ?? -1) + 1;
    revisions.set(e.streamId, revision);
    return {
      id: deterministicId('projection-spec', e.streamId, revision),
      streamId: e.streamId,
      revision,
      position: i + 1,
      type: e.type,
      schemaVersion: e.schemaVersion ?? 1,
      data: e.data,
      metadata: e.metadata ?? {},
      recordedAt: e.recordedAt ?? new Date(t0 + i * 1_000),
    };
  });
}

export interface ProjectionSpecificationOptions {
  /** A database to create the projection's tables in (each run gets tables of its own, dropped after). */
  db: Knex;
  /** Columns whose values are not the projection's to decide (a `now()` default). */
  ignoreColumns?: readonly string[];
  /** Page sizes to apply the events in, besides one page of all of them. Default 1, 2, 3 and 7. */
  pageSizes?: readonly number[];
  /**
   * Tables the projection writes by their own name but does not declare in
   * `tables` (a table of the service's migrations that is never rebuilt):
   * name -> DDL. Each run creates them in a schema of its own, first on the
   * transaction's `search_path`, so the projection's plain names reach them.
   */
  tablesOwnedElsewhere?: Record<string, (physicalName: string) => string>;
}

export type ProjectionRows = Record<string, Record<string, unknown>[]>;

/**
 * Projection specifications, the same in every service: the events are
 * applied in one page, in pages of several sizes, and with every page
 * applied twice (a redelivered page); the read model must come out the same
 * every time. Returns its rows (each table's, in a stable order) for the
 * test's own assertions:
 *
 *     const rows = await ProjectionSpecification.for(productListProjection, { db }).given(events).rows();
 *     expect(rows.products).toEqual([...]);
 */
export const ProjectionSpecification = {
  for(projection: Projection, options: ProjectionSpecificationOptions) {
    return {
      given(events: readonly GivenEvent[] | readonly RecordedEvent[]) {
        const recorded = (events.length > 0 && 'position' in events[0]! ? events : recordedEvents(events as GivenEvent[])) as RecordedEvent[];
        return {
          /** Applies the events every way, expects the same rows each time, and returns them. */
          async rows(): Promise<ProjectionRows> {
            const once = await run(projection, options, [recorded]);
            const sizes = options.pageSizes ?? [1, 2, 3, 7];
            for (const size of sizes) {
              const pages: RecordedEvent[][] = [];
              for (let i = 0; i < recorded.length; i += size) pages.push(recorded.slice(i, i + size));
              expect(await run(projection, options, pages), `the read model after pages of ${size}`).toEqual(once);
              expect(await run(projection, options, pages.flatMap((p) => [p, p])), `the read model after every page of ${size} applied twice`).toEqual(once);
            }
            expect(await run(projection, options, recorded.flatMap((e) => [[e], [e]])), 'the read model after every event applied twice').toEqual(once);
            return once;
          },
        };
      },
    };
  },
};

/** Creates the projection's tables under fresh names, applies the pages (each in its own transaction), reads every table, drops them. */
async function run(projection: Projection, options: ProjectionSpecificationOptions, pages: RecordedEvent[][]): Promise<ProjectionRows> {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 10);
  const elsewhere = options.tablesOwnedElsewhere ?? {};
  const schema = `projection_spec_${suffix}`;
  const physical = {
    ...Object.fromEntries(Object.keys(projection.tables).map((t) => [t, `${t}_spec_${suffix}`])),
    ...Object.fromEntries(Object.keys(elsewhere).map((t) => [t, `${schema}.${t}`])),
  };
  const { db } = options;
  try {
    for (const [logical, ddl] of Object.entries(projection.tables)) await db.raw(ddl(physical[logical]!));
    if (Object.keys(elsewhere).length > 0) await db.raw(`create schema ${schema}`);
    for (const [name, ddl] of Object.entries(elsewhere)) {
      await db.transaction(async (trx) => {
        await trx.raw(`set local search_path to ${schema}`);
        await trx.raw(ddl(name));
      });
    }
    for (const page of pages) {
      await db.transaction(async (trx) => {
        if (Object.keys(elsewhere).length > 0) await trx.raw(`set local search_path to ${schema}, public`);
        await applyEvents(projection, page, { trx, table: (name) => physical[name] ?? name });
      });
    }
    const rows: ProjectionRows = {};
    for (const logical of [...Object.keys(projection.tables), ...Object.keys(elsewhere)]) {
      const all = (await db(physical[logical]!).select('*')) as Record<string, unknown>[];
      const kept = all.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => !options.ignoreColumns?.includes(c))));
      rows[logical] = kept.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
    return rows;
  } finally {
    for (const name of Object.keys(projection.tables)) await db.schema.dropTableIfExists(physical[name]!);
    await db.raw(`drop schema if exists ${schema} cascade`);
  }
}
