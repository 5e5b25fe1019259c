import { UnitOfWork, type Clock, type EventStore, type StreamStateCache, type Work } from '@shop/platform';
import { reservationResult, stockDecider } from '../stock/decide';
import { levelsOf } from '../stock/stock';
import { stockStreamId, type StockLedger } from '../stock/stock-ledger';
import { reservationDecider, type CommitOrderReservation, type ReleaseOrderReservation, type ReservationCommand } from './decide';
import { linesBySku, type Line, type Reservation, type Shortage } from './reservation';

export const reservationStreamId = (orderId: string): string => `reservation-${orderId}`;

type SettleStep = 'ReleaseStockForOrder' | 'CommitStockForOrder' | 'RestockForOrder';
/** What each recorded outcome asks of every SKU hold of the order, in order. */
const SETTLE: Record<Reservation['status'], readonly SettleStep[]> = {
  none: [],
  requested: [],
  succeeded: [],
  failed: ['ReleaseStockForOrder'],
  released: ['ReleaseStockForOrder'],
  committed: ['CommitStockForOrder'],
  restocked: ['CommitStockForOrder', 'RestockForOrder'],
};

/**
 * Reserves, releases and commits an order's lines, all or nothing, across
 * the SKU streams. Each command runs in its handler's unit of work, so
 * everything it decides (the order's stream and every SKU's) commits
 * together or not at all. The order's own stream (`reservation-<orderId>`)
 * is the arbiter, and the protocol below also converges for state that a
 * writer without atomic commits left half done (and for any number of runs
 * of one order: redeliveries, a release racing a reservation):
 *
 * 1. `ReservationRequested` is recorded once, with the lines.
 * 2. Lines are reserved one SKU at a time in sorted SKU order. A SKU opens at
 *    most one hold per order, so a rerun reserves nothing twice.
 * 3. The outcome (`ReservationSucceeded` or `ReservationFailed`) is recorded
 *    on the order stream before any hold is released: the first writer wins.
 *    `ReservationReleased` is likewise recorded before its holds are released.
 * 4. Every run ends by settling the holds against the recorded outcome:
 *    failed or released → release every hold of the order; committed →
 *    commit every hold; restocked (a release after the commit) → put every
 *    committed hold back on hand (`ReservationRestocked` is recorded first).
 *    A run that reserved a line after someone else recorded a failure or a
 *    release therefore releases it itself.
 *
 * Two units deciding on the same SKU or order concurrently (two processes)
 * cannot both commit: the second finds a stream moved and runs again on the
 * new state.
 */
export class Reservations {
  constructor(
    private readonly store: Pick<EventStore, 'readStreams' | 'commit'>,
    private readonly stock: StockLedger,
    private readonly clock: Clock,
    private readonly cache?: StreamStateCache,
  ) {}

  /** Reserve every line for the order, or none. Idempotent: a repeat returns the recorded outcome. */
  async reserve(work: Work, input: { orderId: string; lines: Line[] }): Promise<Reservation> {
    let state = await this.decide(work, input.orderId, { type: 'RequestOrderReservation', ...input, now: this.now() });
    if (state.status === 'requested') state = await this.finishReserving(work, state);
    await this.settleHolds(work, state);
    return state;
  }

  /**
   * Release the order's holds. A release that finds the reservation still in
   * progress first finishes it, the way a redelivery of the reservation
   * would, then releases what it holds. A release of a committed reservation
   * restocks it (the sold lines go back on hand), once.
   */
  async release(work: Work, input: { orderId: string }): Promise<Reservation> {
    const state = await this.afterReserving(work, { type: 'ReleaseOrderReservation', orderId: input.orderId });
    await this.settleHolds(work, state);
    return state;
  }

  /** Commit (sell) the held lines. An unfinished reservation is finished first; only a success is committed. */
  async commit(work: Work, input: { orderId: string }): Promise<Reservation> {
    const state = await this.afterReserving(work, { type: 'CommitOrderReservation', orderId: input.orderId });
    await this.settleHolds(work, state);
    return state;
  }

  /** Decides a release or a commit once the reservation has an outcome, finishing one still in progress first. */
  private async afterReserving(
    work: Work,
    command: Omit<ReleaseOrderReservation, 'now'> | Omit<CommitOrderReservation, 'now'>,
  ): Promise<Reservation> {
    const state = await work.load(reservationStreamId(command.orderId), reservationDecider);
    if (state.status === 'requested') await this.finishReserving(work, state);
    return this.decide(work, command.orderId, { ...command, now: this.now() });
  }

  /** The order's reservation as stored now (reads its stream). */
  async load(orderId: string): Promise<Reservation> {
    return new UnitOfWork(this.store, this.cache, { refreshCached: true }).load(reservationStreamId(orderId), reservationDecider);
  }

  private async finishReserving(work: Work, state: Extract<Reservation, { status: 'requested' }>): Promise<Reservation> {
    const { orderId } = state;
    const shortages: Shortage[] = [];
    let allReserved = true;
    for (const line of linesBySku(state.lines)) {
      if (!allReserved) {
        // Reserve nothing more; only look, so the failure names every short line.
        const { available } = await this.levelsIn(work, line.sku);
        if (line.quantity > available) shortages.push({ sku: line.sku, requested: line.quantity, available });
        continue;
      }
      const after = await this.stock.executeIn(work, { type: 'ReserveStockForOrder', sku: line.sku, orderId, quantity: line.quantity, now: this.now() });
      const result = reservationResult(after, orderId, line.quantity);
      if (result.outcome === 'short') shortages.push({ sku: line.sku, requested: result.requested, available: result.available });
      // 'ended': another run already recorded an outcome and released this hold.
      if (result.outcome !== 'reserved') allReserved = false;
    }
    if (!allReserved && shortages.length === 0) return work.stateOf(reservationStreamId(orderId), reservationDecider);
    return this.decide(work, orderId, {
      type: 'CompleteOrderReservation',
      orderId,
      outcome: allReserved ? { allReserved: true } : { allReserved: false, shortages },
      now: this.now(),
    });
  }

  private async levelsIn(work: Work, sku: string) {
    return levelsOf(await work.load(stockStreamId(sku), stockDecider));
  }

  /**
   * Brings the SKU holds in line with the recorded outcome (idempotent: ended
   * holds decide nothing). Restocked → commit any hold a crashed commit left
   * open, then restock every committed hold, so no hold is left behind.
   */
  private async settleHolds(work: Work, state: Reservation): Promise<void> {
    if (state.status === 'none') return;
    const steps = SETTLE[state.status];
    for (const line of linesBySku(state.lines)) {
      for (const type of steps) await this.stock.executeIn(work, { type, sku: line.sku, orderId: state.orderId, now: this.now() });
    }
  }

  private async decide(work: Work, orderId: string, command: ReservationCommand): Promise<Reservation> {
    return (await work.decide(reservationStreamId(orderId), reservationDecider, command)).state;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
