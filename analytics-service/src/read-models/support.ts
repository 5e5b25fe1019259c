import type { ProjectionContext, RecordedEvent } from '@shop/platform';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The UTC minute an instant falls in. */
export function minuteOf(at: string | Date): Date {
  const ms = new Date(at).getTime();
  return new Date(ms - (ms % MINUTE));
}

/** The UTC day an instant falls in. */
export function dayOf(at: string | Date): Date {
  const ms = new Date(at).getTime();
  return new Date(ms - (ms % DAY));
}

/** DDL of a projection's table of applied event ids (its idempotency guard). */
export const appliedTable = (t: string) => `create table ${t} (event_id uuid primary key, position bigint not null)`;

/**
 * Records that the projection applies `event`; false when it already did.
 * Projections whose effect is an increment start with this, so applying the
 * same event twice changes nothing even outside the runner's checkpoint.
 */
export async function firstApplication(ctx: ProjectionContext, logicalTable: string, event: RecordedEvent): Promise<boolean> {
  const rows = (await ctx
    .trx(ctx.table(logicalTable))
    .insert({ event_id: event.id, position: event.position })
    .onConflict('event_id')
    .ignore()
    .returning('event_id')) as unknown[];
  return rows.length > 0;
}

/**
 * Adds `increments` to the row with `keys` in `logicalTable`, creating it at
 * the increments when missing (one statement, no read).
 */
export async function addTo(
  ctx: ProjectionContext,
  logicalTable: string,
  keys: Record<string, unknown>,
  increments: Record<string, number>,
): Promise<void> {
  const table = ctx.table(logicalTable);
  const merge: Record<string, unknown> = {};
  for (const column of Object.keys(increments)) merge[column] = ctx.trx.raw(`${table}.${column} + excluded.${column}`);
  await ctx.trx(table).insert({ ...keys, ...increments }).onConflict(Object.keys(keys)).merge(merge);
}
