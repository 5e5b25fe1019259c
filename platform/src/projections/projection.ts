import type { Knex } from 'knex';
import type { LogFilter, RecordedEvent } from '../event-store/event-store';

export interface ProjectionContext {
  /** The transaction that will also store the checkpoint. Write through it only. */
  trx: Knex.Transaction;
  /** The physical table behind a logical one: the live table, or its shadow during a rebuild. */
  table(logicalName: string): string;
}

/**
 * A read model built from the global log. Its handlers must be idempotent
 * (applying an event twice changes nothing), although the runner already
 * applies each event once: the checkpoint is stored in the same transaction
 * as the rows, so a crash rolls both back together. `rebuild({ fromPosition })`
 * relies on it: it applies events again onto a copy of tables that already
 * reflect them.
 */
export interface Projection {
  /** Lower-case identifier, used for checkpoints and table names. */
  name: string;
  /** Logical table name -> DDL creating it under the given physical name. */
  tables: Record<string, (physicalName: string) => string>;
  /** Only these events reach the handlers (the checkpoint still moves past the others). */
  filter?: LogFilter;
  /**
   * false when no handler reads `event.metadata`: the runner then reads the
   * log without it (`ReadAllOptions.withMetadata`), which makes pages much
   * cheaper when events carry a lot of it. Handlers then see `{}`.
   */
  readsMetadata?: boolean;
  apply(event: RecordedEvent, ctx: ProjectionContext): Promise<void>;
  /**
   * Optional: applies `events` (in log order, as a page delivers them) with
   * the same result as `apply` on each in turn, in a few set-based
   * statements. When present, the runner hands it whole pages instead of
   * calling `apply` per event.
   */
  applyBatch?(events: RecordedEvent[], ctx: ProjectionContext): Promise<void>;
}

/** Applies `events` in log order through the projection's batch handler, or one by one when it has none. */
export async function applyEvents(projection: Projection, events: RecordedEvent[], ctx: ProjectionContext): Promise<void> {
  if (events.length === 0) return;
  if (projection.applyBatch) {
    await projection.applyBatch(events, ctx);
    return;
  }
  for (const event of events) await projection.apply(event, ctx);
}

export type ProjectionState = 'live' | 'rebuilding';

export interface ProjectionStatus {
  name: string;
  state: ProjectionState;
  /** Last position reflected in the live tables. */
  position: number;
  head: number;
  /** Positions behind the head of the log (events, since positions are gap-free in the Postgres store). */
  lag: number;
  /** During a rebuild, how far the shadow tables have got. */
  rebuildPosition?: number;
}

export const IDENTIFIER = /^[a-z][a-z0-9_]{0,40}$/;

export function assertProjectionShape(projection: Projection): void {
  if (!IDENTIFIER.test(projection.name)) throw new Error(`projection name "${projection.name}" must match ${IDENTIFIER}`);
  for (const table of Object.keys(projection.tables)) {
    if (!IDENTIFIER.test(table)) throw new Error(`table name "${table}" must match ${IDENTIFIER}`);
  }
}
