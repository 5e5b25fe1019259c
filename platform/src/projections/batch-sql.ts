import type { Knex } from 'knex';
import type { ProjectionContext } from './projection';

/**
 * Set-based statements for projections' batch handlers (`applyBatch`): a
 * page's rows read and written in one statement each, whatever the page's
 * size, instead of a round trip per event.
 */

/** A column of a set-based statement: its name and the SQL type its values are sent as. */
export interface Column {
  name: string;
  type: string;
}

/**
 * `insert into <table> as t (...) select * from unnest($1::t1[], $2::t2[], ...)`
 * followed by the `on conflict` clause: any number of rows in one statement,
 * sent as one array per column.
 */
export async function insertRows(
  ctx: ProjectionContext,
  logicalTable: string,
  columns: readonly Column[],
  rows: readonly unknown[][],
  onConflict: string,
): Promise<void> {
  if (rows.length === 0) return;
  await ctx.trx.raw(
    `insert into ${ctx.table(logicalTable)} as t (${columns.map((c) => c.name).join(', ')})
     select * from unnest(${columns.map((c) => `?::${c.type}[]`).join(', ')})
     ${onConflict}`,
    columns.map((_, i) => rows.map((r) => r[i] ?? null)) as unknown as readonly Knex.RawBinding[],
  );
}

/** The rows of `logicalTable` whose key columns equal one of `keys`, in one statement. */
export async function rowsByKey<Row>(
  ctx: ProjectionContext,
  logicalTable: string,
  keyColumns: readonly Column[],
  keys: readonly unknown[][],
  select: readonly string[],
): Promise<Row[]> {
  if (keys.length === 0) return [];
  const names = keyColumns.map((c) => c.name);
  const res = (await ctx.trx.raw(
    `select ${select.map((c) => `t.${c}`).join(', ')}
       from ${ctx.table(logicalTable)} t
       join unnest(${keyColumns.map((c) => `?::${c.type}[]`).join(', ')}) as k(${names.join(', ')})
         on ${names.map((n) => `t.${n} = k.${n}`).join(' and ')}`,
    keyColumns.map((_, i) => keys.map((k) => k[i])) as unknown as readonly Knex.RawBinding[],
  )) as { rows: Row[] };
  return res.rows;
}

