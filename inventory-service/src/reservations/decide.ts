import { ConflictError, ValidationError, type Decider } from '@shop/platform';
import { evolve, initialState, reservationCodec, type Line, type Reservation, type ReservationEvent, type Shortage } from './reservation';

/** The outcome of the reservation is not recorded yet: finish reserving (idempotently), then try again. */
export class ReservationInProgressError extends ConflictError {
  constructor(orderId: string, action: string) {
    super(`the reservation of order ${orderId} is still in progress: finish it before ${action}`, { orderId });
  }
}

export interface RequestOrderReservation {
  type: 'RequestOrderReservation';
  orderId: string;
  lines: Line[];
  now: string;
}
/** The outcome found on the SKU streams: every line held, or the lines that were short. */
export interface CompleteOrderReservation {
  type: 'CompleteOrderReservation';
  orderId: string;
  outcome: { allReserved: true } | { allReserved: false; shortages: Shortage[] };
  now: string;
}
export interface ReleaseOrderReservation {
  type: 'ReleaseOrderReservation';
  orderId: string;
  now: string;
}
export interface CommitOrderReservation {
  type: 'CommitOrderReservation';
  orderId: string;
  now: string;
}
export type ReservationCommand = RequestOrderReservation | CompleteOrderReservation | ReleaseOrderReservation | CommitOrderReservation;

/** Starts the reservation once; a repeat (redelivery, or the same order asked again) decides nothing. */
export function requestOrderReservation(command: RequestOrderReservation, state: Reservation): ReservationEvent[] {
  if (state.status !== 'none') return [];
  if (command.lines.length === 0) throw new ValidationError('a reservation needs at least one line');
  return [{ type: 'ReservationRequested', orderId: command.orderId, lines: command.lines, requestedAt: command.now }];
}

/** Records the outcome once: the first writer wins, later ones decide nothing and adapt to it. */
export function completeOrderReservation(command: CompleteOrderReservation, state: Reservation): ReservationEvent[] {
  if (state.status !== 'requested') return [];
  if (command.outcome.allReserved) {
    return [{ type: 'ReservationSucceeded', orderId: command.orderId, lines: state.lines, succeededAt: command.now }];
  }
  if (command.outcome.shortages.length === 0) throw new ValidationError('a failed reservation names at least one shortage');
  return [{ type: 'ReservationFailed', orderId: command.orderId, shortages: command.outcome.shortages, failedAt: command.now }];
}

/**
 * Releasing is recorded before the SKU holds are released, so that nobody
 * can record a success afterwards. Releasing nothing (unknown order, failed
 * reservation) is recorded too, with no lines: it answers the caller, and a
 * reservation request arriving after it decides nothing (no late hold leaks).
 * Releasing a committed reservation (a confirmed order was cancelled)
 * restocks it: `ReservationRestocked` is recorded, once, before the sold
 * quantities go back on hand on the SKU streams.
 */
export function releaseOrderReservation(command: ReleaseOrderReservation, state: Reservation): ReservationEvent[] {
  switch (state.status) {
    case 'none':
    case 'failed':
      return [{ type: 'ReservationReleased', orderId: command.orderId, lines: [], releasedAt: command.now }];
    case 'succeeded':
      return [{ type: 'ReservationReleased', orderId: command.orderId, lines: state.lines, releasedAt: command.now }];
    case 'committed':
      return [{ type: 'ReservationRestocked', orderId: command.orderId, lines: state.lines, restockedAt: command.now }];
    case 'requested':
      throw new ReservationInProgressError(command.orderId, 'releasing');
    case 'released':
    case 'restocked':
      return [];
  }
}

/** Commits only a successful reservation; for anything else there is nothing held to sell. */
export function commitOrderReservation(command: CommitOrderReservation, state: Reservation): ReservationEvent[] {
  switch (state.status) {
    case 'succeeded':
      return [{ type: 'ReservationCommitted', orderId: command.orderId, lines: state.lines, committedAt: command.now }];
    case 'requested':
      throw new ReservationInProgressError(command.orderId, 'committing');
    case 'none':
    case 'failed':
    case 'released':
    case 'committed':
    case 'restocked':
      return [];
  }
}

export function decide(command: ReservationCommand, state: Reservation): ReservationEvent[] {
  switch (command.type) {
    case 'RequestOrderReservation':
      return requestOrderReservation(command, state);
    case 'CompleteOrderReservation':
      return completeOrderReservation(command, state);
    case 'ReleaseOrderReservation':
      return releaseOrderReservation(command, state);
    case 'CommitOrderReservation':
      return commitOrderReservation(command, state);
  }
}

/** One order's reservation: its state, events and codec (reservation.ts) with the decisions above. */
export const reservationDecider: Decider<ReservationCommand, Reservation, ReservationEvent> = { initialState, evolve, decide, codec: reservationCodec };
