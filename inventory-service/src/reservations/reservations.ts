import { executeCommand, type Clock, type EventStore, type RecordedEvent } from '@shop/platform';
import { eventIds, type CommandContext } from '../shared/command-context';
import { KeyedQueue } from '../shared/keyed-queue';
import { reservationResult } from '../stock/decide';
import type { StockLedger } from '../stock/stock-ledger';
import { ReservationInProgressError, decide, type CommitOrderReservation, type ReleaseOrderReservation, type ReservationCommand } from './decide';
import { linesBySku, reservationDecider, type Line, type Reservation, type ReservationEvent, type Shortage } from './reservation';

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
 * the SKU streams. The order's own stream (`reservation-<orderId>`) is the
 * arbiter; the protocol below makes any number of runs for one order
 * (redeliveries after a crash, a release racing a reservation) converge to
 * one outcome without leaking a hold:
 *
 * 1. `ReservationRequested` is recorded once, with the lines.
 * 2. Lines are reserved one SKU at a time in sorted SKU order. A SKU opens at
 *    most one hold per order, so a rerun reserves nothing twice.
 * 3. The outcome (`ReservationSucceeded` or `ReservationFailed`) is recorded
 *    on the order stream BEFORE any hold is released: the first writer wins.
 *    `ReservationReleased` is likewise recorded before its holds are released.
 * 4. Every run ends by settling the holds against the recorded outcome:
 *    failed or released → release every hold of the order; committed →
 *    commit every hold; restocked (a release after the commit) → put every
 *    committed hold back on hand (`ReservationRestocked` is recorded first). A run that reserved a line after someone else
 *    recorded a failure or a release therefore releases it itself, and a
 *    run that crashed before settling is redelivered and settles then.
 *
 * In one process, runs for one order also queue behind each other; across
 * processes the bus delivers one order's commands in order, from one
 * partition, to one consumer at a time.
 */
export class Reservations {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly store: EventStore,
    private readonly stock: StockLedger,
    private readonly clock: Clock,
  ) {}

  /** Reserve every line for the order, or none. Idempotent: a repeat returns the recorded outcome. */
  reserve(input: { orderId: string; lines: Line[] }, context: CommandContext = {}): Promise<Reservation> {
    return this.queue.run(input.orderId, async () => {
      let state = await this.decide(input.orderId, { type: 'RequestOrderReservation', ...input, now: this.now() }, context);
      if (state.status === 'requested') state = await this.finishReserving(state, context);
      await this.settleHolds(state, context);
      return state;
    });
  }

  /**
   * Release the order's holds. A release that finds the reservation still in
   * progress (its writer crashed or is still running) first finishes it, the
   * way a redelivery of the reservation would, then releases what it holds.
   * A release of a committed reservation restocks it (the sold lines go back
   * on hand), once.
   */
  release(input: { orderId: string }, context: CommandContext = {}): Promise<Reservation> {
    return this.queue.run(input.orderId, async () => {
      const state = await this.afterReserving({ type: 'ReleaseOrderReservation', orderId: input.orderId }, context);
      await this.settleHolds(state, context);
      return state;
    });
  }

  /** Commit (sell) the held lines. An unfinished reservation is finished first; only a success is committed. */
  commit(input: { orderId: string }, context: CommandContext = {}): Promise<Reservation> {
    return this.queue.run(input.orderId, async () => {
      const state = await this.afterReserving({ type: 'CommitOrderReservation', orderId: input.orderId }, context);
      await this.settleHolds(state, context);
      return state;
    });
  }

  /**
   * Decides a release or a commit once the reservation has an outcome. A
   * reservation still in progress (found so, or started by a racing run
   * between our read and our append) is finished first, exactly as its own
   * redelivery would finish it.
   */
  private async afterReserving(
    command: Omit<ReleaseOrderReservation, 'now'> | Omit<CommitOrderReservation, 'now'>,
    context: CommandContext,
  ): Promise<Reservation> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.load(command.orderId);
      if (state.status === 'requested') await this.finishReserving(state, context);
      try {
        return await this.decide(command.orderId, { ...command, now: this.now() } as ReservationCommand, context);
      } catch (err) {
        if (!(err instanceof ReservationInProgressError) || attempt >= 5) throw err;
      }
    }
  }

  async load(orderId: string): Promise<Reservation> {
    const history = await this.store.readStream(reservationStreamId(orderId));
    return history.reduce((s, e: RecordedEvent) => reservationDecider.evolve(s, { type: e.type, ...(e.data as object) } as ReservationEvent), reservationDecider.initialState);
  }

  private async finishReserving(state: Extract<Reservation, { status: 'requested' }>, context: CommandContext): Promise<Reservation> {
    const { orderId } = state;
    const shortages: Shortage[] = [];
    let allReserved = true;
    for (const line of linesBySku(state.lines)) {
      if (!allReserved) {
        // Reserve nothing more; only look, so the failure names every short line.
        const { available } = await this.stock.levels(line.sku);
        if (line.quantity > available) shortages.push({ sku: line.sku, requested: line.quantity, available });
        continue;
      }
      const after = await this.stock.execute({ type: 'ReserveStockForOrder', sku: line.sku, orderId, quantity: line.quantity, now: this.now() }, context);
      const result = reservationResult(after, orderId, line.quantity);
      if (result.outcome === 'short') shortages.push({ sku: line.sku, requested: result.requested, available: result.available });
      // 'ended': another run already recorded an outcome and released this hold.
      if (result.outcome !== 'reserved') allReserved = false;
    }
    if (!allReserved && shortages.length === 0) return this.load(orderId);
    return this.decide(
      orderId,
      { type: 'CompleteOrderReservation', orderId, outcome: allReserved ? { allReserved: true } : { allReserved: false, shortages }, now: this.now() },
      context,
    );
  }

  /**
   * Brings the SKU holds in line with the recorded outcome (idempotent: ended
   * holds decide nothing). Restocked → commit any hold a crashed commit left
   * open, then restock every committed hold, so no hold is left behind.
   */
  private async settleHolds(state: Reservation, context: CommandContext): Promise<void> {
    if (state.status === 'none') return;
    const steps = SETTLE[state.status];
    for (const line of linesBySku(state.lines)) {
      for (const type of steps) await this.stock.execute({ type, sku: line.sku, orderId: state.orderId, now: this.now() }, context);
    }
  }

  private async decide(orderId: string, command: ReservationCommand, context: CommandContext): Promise<Reservation> {
    const streamId = reservationStreamId(orderId);
    const outcome = await executeCommand({
      store: this.store,
      streamId,
      decider: reservationDecider,
      decide: (state) => decide(state, command),
      eventId: eventIds(context, streamId, command.type),
      ...(context.metadata ? { metadata: context.metadata } : {}),
    });
    return outcome.state;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
