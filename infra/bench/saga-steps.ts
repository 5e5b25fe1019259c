/** One rate step of `bench:saga`, for the platform, its bare baseline or a peer: one JSON line each. */
export interface StepResult {
  /** `platform`, `bare-postgres-pipeline`, or a peer (`temporal-dev-server-disk`...). */
  system: string;
  step: number;
  offeredRate: number;
  /** Orders answered 202 per second of the step. */
  acceptedRate: number;
  offered: number;
  accepted: number;
  failed: number;
  /** Accepted orders that reached a terminal status. */
  terminal: number;
  /** Accepted orders terminal no later than `terminalWithinMs` after the step's last request. */
  terminalWithinDeadline: number;
  /** POST -> terminal, from the order's own status history (the terminal status' recorded time). */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** CPU milliseconds per accepted order, summed over every process of the system, and per process group. */
  cpuMsPerOrder: { total: number; byProcess: Record<string, number> };
  /** Share of the CPU above spent by the read side (analytics and its database backends); platform steps only. */
  readSideShare?: number;
  /** Committed transactions per accepted order (`pg_stat_database.xact_commit`), summed and per database. */
  transactionsPerOrder: { total: number; byDatabase: Record<string, number> };
  /** Bus messages published per accepted order (hops, for the baseline). */
  messagesPerOrder: number;
  /** The measured window: from the first request until every order was through (or the drain limit). */
  windowSeconds: number;
  sustained: boolean;
  [more: string]: unknown;
}

export interface StepCriteria {
  /** Every accepted order must be terminal this long after the step's last request... */
  terminalWithinMs: number;
  /** ...with p99 POST -> terminal below this. */
  p99BelowMs: number;
  /** How long to wait after a step for the backlog to drain before giving up on it. */
  drainLimitMs: number;
}

/** How long after a step's last order the counters of pg_stat_database are read (see `saga.bench.ts`). */
export const STATS_SETTLE_MS = 3_000;

export const DEFAULT_CRITERIA: StepCriteria = { terminalWithinMs: 5_000, p99BelowMs: 1_000, drainLimitMs: 30_000 };

/** A step is sustained when every order was accepted and terminal within the deadline, with p99 below the bound. */
export function sustained(r: StepResult, c: StepCriteria): boolean {
  return (
    r.failed === 0 &&
    r.accepted === r.offered &&
    r.terminalWithinDeadline === r.accepted &&
    r.p99Ms !== null &&
    r.p99Ms < c.p99BelowMs
  );
}
