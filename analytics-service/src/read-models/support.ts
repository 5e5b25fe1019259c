import { insertRows, rowsByKey, type Column, type ProjectionContext } from '@shop/platform';

export { insertRows, rowsByKey, type Column };

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The start of the UTC minute of an ISO timestamp, as an ISO string (a key of per-minute rows). */
export function minuteKey(at: string): string {
  const ms = Date.parse(at);
  return new Date(ms - (ms % MINUTE)).toISOString();
}

/** The start of the UTC day of an ISO timestamp, as an ISO string. */
export function dayKey(at: string): string {
  const ms = Date.parse(at);
  return new Date(ms - (ms % DAY)).toISOString();
}

/** A text key for a tuple of key values (none of which contains NUL). */
const keyOf = (values: readonly unknown[]) => values.join('\u0000');

/**
 * Counter increments of a page, folded per key in memory and added to the
 * stored counts with one upsert (`count = t.count + excluded.count`).
 *
 * With `highWater`, the table has a `last_position` column: the position of
 * the last event counted into the row. The runner applies events in log
 * order, so an event at or before a row's `last_position` is already in it
 * and is skipped; that makes counting idempotent without remembering event
 * ids. Without it, the caller guarantees each increment is new (it comes
 * from a state change that is itself guarded).
 */
export class CounterFold {
  private readonly rows = new Map<string, { key: unknown[]; entries: { position: number; deltas: number[] }[] }>();

  constructor(
    private readonly logicalTable: string,
    private readonly keyColumns: readonly Column[],
    private readonly counters: readonly string[],
    private readonly options: { highWater: boolean },
  ) {}

  /** Adds the deltas of the event at `position`; events come in log order. */
  add(key: unknown[], deltas: number[], position: number): void {
    const k = keyOf(key);
    const row = this.rows.get(k);
    if (row) row.entries.push({ position, deltas });
    else this.rows.set(k, { key, entries: [{ position, deltas }] });
  }

  async write(ctx: ProjectionContext): Promise<void> {
    if (this.rows.size === 0) return;
    const stored = new Map<string, number>();
    if (this.options.highWater) {
      const keys = [...this.rows.values()].map((r) => r.key);
      const found = await rowsByKey<Record<string, unknown>>(ctx, this.logicalTable, this.keyColumns, keys, [
        ...this.keyColumns.map((c) => c.name),
        'last_position',
      ]);
      for (const row of found) {
        stored.set(keyOf(this.keyColumns.map((c) => keyValue(row[c.name], c.type))), Number(row.last_position));
      }
    }
    const out: unknown[][] = [];
    for (const [k, row] of this.rows) {
      const after = stored.get(k) ?? 0;
      const fresh = row.entries.filter((e) => e.position > after);
      if (fresh.length === 0) continue;
      const sums = this.counters.map((_, i) => fresh.reduce((sum, e) => sum + e.deltas[i]!, 0));
      out.push(this.options.highWater ? [...row.key, ...sums, fresh[fresh.length - 1]!.position] : [...row.key, ...sums]);
    }
    const columns = [
      ...this.keyColumns,
      ...this.counters.map((name) => ({ name, type: 'bigint' })),
      ...(this.options.highWater ? [{ name: 'last_position', type: 'bigint' }] : []),
    ];
    const set = [
      ...this.counters.map((c) => `${c} = t.${c} + excluded.${c}`),
      ...(this.options.highWater ? ['last_position = excluded.last_position'] : []),
    ];
    await insertRows(ctx, this.logicalTable, columns, out, `on conflict (${this.keyColumns.map((c) => c.name).join(', ')}) do update set ${set.join(', ')}`);
  }
}

/** A stored key value in the form the fold keys it by (timestamps as ISO strings). */
function keyValue(value: unknown, type: string): unknown {
  return type === 'timestamptz' && value instanceof Date ? value.toISOString() : value;
}
