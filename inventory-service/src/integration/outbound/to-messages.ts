import { ReservationCommitted, StockLevelChanged, StockReleased, StockReservationFailed, StockReserved } from '@shop/contracts';
import { INTERNAL, combineCodecs, outboundMessages, send } from '@shop/platform';
import { reservationCodec, type ReservationEvent } from '../../reservations/reservation';
import { stockCodec, type StockEvent } from '../../stock/stock';

export const SOURCE = 'inventory-service';

type InventoryEvent = StockEvent | ReservationEvent;
/** The relay reads both kinds of stream: each stored event is decoded with its aggregate's codec. */
const codec = combineCodecs<InventoryEvent>(stockCodec, reservationCodec);

const levelChanged = (e: StockEvent, cause: 'received' | 'adjusted' | 'reserved' | 'released' | 'committed' | 'restocked', changedAt: string) =>
  send(StockLevelChanged, { sku: e.sku, ...e.levels, cause, ...('orderId' in e ? { orderId: e.orderId } : {}), changedAt });

/**
 * The outbox relay's mapping, one entry per event type: every change of a
 * SKU becomes `inventory.stock-level-changed` (with the levels the event
 * carries), and each recorded outcome of an order's reservation becomes the
 * reply to the coordinator. `ReservationRequested` stays inside the service.
 */
export const toMessages = outboundMessages<InventoryEvent>(
  SOURCE,
  {
    StockReceived: (e) => levelChanged(e, 'received', e.receivedAt),
    StockAdjusted: (e) => levelChanged(e, 'adjusted', e.adjustedAt),
    StockReserved: (e) => levelChanged(e, 'reserved', e.reservedAt),
    StockReservationReleased: (e) => levelChanged(e, 'released', e.releasedAt),
    StockReservationCommitted: (e) => levelChanged(e, 'committed', e.committedAt),
    StockRestocked: (e) => levelChanged(e, 'restocked', e.restockedAt),
    ReservationRequested: INTERNAL,
    ReservationSucceeded: (e) => send(StockReserved, { orderId: e.orderId, lines: e.lines }),
    ReservationFailed: (e) => send(StockReservationFailed, { orderId: e.orderId, shortages: e.shortages }),
    ReservationReleased: (e) => send(StockReleased, { orderId: e.orderId, lines: e.lines }),
    // A release after the commit restocks the sold lines: the same reply, listing them.
    ReservationRestocked: (e) => send(StockReleased, { orderId: e.orderId, lines: e.lines }),
    ReservationCommitted: (e) => send(ReservationCommitted, { orderId: e.orderId, lines: e.lines }),
  },
  codec,
);
