/**
 * One order's reservation, stream `reservation-<orderId>`. It records the
 * outcome of reserving the order's lines across the SKU streams, and is the
 * single place where that outcome is decided: whoever appends the outcome
 * first wins, and everyone else adapts to it (see reservations.ts).
 */
import { OrderId, OrderLine, Sku, Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';
import { z } from 'zod';

export interface Line {
  sku: string;
  quantity: number;
}
export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

export type Reservation =
  | { status: 'none' }
  /** Lines are being reserved; the outcome is not recorded yet (or its writer crashed). */
  | { status: 'requested'; orderId: string; lines: Line[] }
  | { status: 'succeeded'; orderId: string; lines: Line[] }
  | { status: 'failed'; orderId: string; lines: Line[]; shortages: Shortage[] }
  /** `lines` are the requested lines (empty when the release came first); `released` what the release reported. */
  | { status: 'released'; orderId: string; lines: Line[]; released: Line[] }
  | { status: 'committed'; orderId: string; lines: Line[] }
  /** The committed (sold) lines were put back on hand: the confirmed order was cancelled. */
  | { status: 'restocked'; orderId: string; lines: Line[] };

export type ReservationEvent =
  | { type: 'ReservationRequested'; orderId: string; lines: Line[]; requestedAt: string }
  | { type: 'ReservationSucceeded'; orderId: string; lines: Line[]; succeededAt: string }
  | { type: 'ReservationFailed'; orderId: string; shortages: Shortage[]; failedAt: string }
  | { type: 'ReservationReleased'; orderId: string; lines: Line[]; releasedAt: string }
  | { type: 'ReservationCommitted'; orderId: string; lines: Line[]; committedAt: string }
  | { type: 'ReservationRestocked'; orderId: string; lines: Line[]; restockedAt: string };

const Lines = z.array(OrderLine);
const ShortLine = z.object({ sku: Sku, requested: z.number().int().positive(), available: z.number().int().min(0) });

/** How the `reservation-<orderId>` events are read back, validated (a stored event that does not match is a `CorruptEventError`). */
export const reservationCodec = eventCodec<ReservationEvent>({
  ReservationRequested: z.object({ orderId: OrderId, lines: Lines, requestedAt: Timestamp }),
  ReservationSucceeded: z.object({ orderId: OrderId, lines: Lines, succeededAt: Timestamp }),
  ReservationFailed: z.object({ orderId: OrderId, shortages: z.array(ShortLine), failedAt: Timestamp }),
  ReservationReleased: z.object({ orderId: OrderId, lines: Lines, releasedAt: Timestamp }),
  ReservationCommitted: z.object({ orderId: OrderId, lines: Lines, committedAt: Timestamp }),
  ReservationRestocked: z.object({ orderId: OrderId, lines: Lines, restockedAt: Timestamp }),
});

export const initialState: Reservation = { status: 'none' };

const requestedLines = (state: Reservation): Line[] => (state.status === 'none' ? [] : state.lines);

export function evolve(state: Reservation, event: ReservationEvent): Reservation {
  switch (event.type) {
    case 'ReservationRequested':
      return { status: 'requested', orderId: event.orderId, lines: event.lines };
    case 'ReservationSucceeded':
      return { status: 'succeeded', orderId: event.orderId, lines: event.lines };
    case 'ReservationFailed':
      return { status: 'failed', orderId: event.orderId, lines: requestedLines(state), shortages: event.shortages };
    case 'ReservationReleased':
      return { status: 'released', orderId: event.orderId, lines: requestedLines(state), released: event.lines };
    case 'ReservationCommitted':
      return { status: 'committed', orderId: event.orderId, lines: event.lines };
    case 'ReservationRestocked':
      return { status: 'restocked', orderId: event.orderId, lines: event.lines };
  }
}

/** One line per SKU (quantities of repeated SKUs added), in sorted SKU order: the order in which SKU streams are touched. */
export function linesBySku(lines: readonly Line[]): Line[] {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.sku, (totals.get(line.sku) ?? 0) + line.quantity);
  return [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sku, quantity]) => ({ sku, quantity }));
}
