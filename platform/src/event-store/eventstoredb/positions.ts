/**
 * EventStoreDB's `$all` positions and the port's integer positions.
 *
 * A `$all` position is `{ commit, prepare }`: byte offsets in the server's
 * transaction log, ordered by (commit, prepare), increasing but not dense.
 * The port's position is the commit offset. That is one-to-one only while
 * commit == prepare, which holds for every event a gRPC client appends
 * (commit and prepare differ only inside explicit transactions, which gRPC
 * cannot create), so every event read is checked and a different pair fails
 * loudly instead of being reordered. The port's 0 ("before the first event")
 * is the log's start.
 */

export interface AllPosition {
  commit: bigint;
  prepare: bigint;
}

/** The port's position of an event at `position`; throws when it cannot be one (commit ≠ prepare, or beyond 2^53). */
export function toPortPosition(position: AllPosition, what = 'an event'): number {
  if (position.commit !== position.prepare) {
    throw new RangeError(`${what} is at commit ${position.commit}, prepare ${position.prepare}: an explicit transaction's event, which this adapter cannot order by one number`);
  }
  if (position.commit < 0n || position.commit > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${what} is at log offset ${position.commit}, outside the positions this adapter can represent (0 to 2^53 - 1)`);
  }
  return Number(position.commit);
}

/**
 * Where a read from the port's `position` starts: the log's start for 0, else
 * the event at that position. Server reads from a position may include the
 * event at it, so readers drop every event at or before `position`
 * (`isAfter`), which keeps the port's "exclusive" either way.
 */
export function toReadPosition(position: number): 'start' | AllPosition {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`position ${position} is not a non-negative integer`);
  if (position === 0) return 'start';
  const offset = BigInt(position);
  return { commit: offset, prepare: offset };
}

/** Whether an event read at `position` comes after the port's exclusive `from`. */
export function isAfter(position: number, from: number): boolean {
  return position > from;
}
