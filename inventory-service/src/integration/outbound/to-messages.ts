import {
  ReservationCommitted,
  StockLevelChanged,
  StockReleased,
  StockReservationFailed,
  StockReserved,
  buildMessage,
  type MessageDefinition,
  type MessageData,
} from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { ReservationEvent } from '../../reservations/reservation';
import type { StockEvent } from '../../stock/stock';

const CAUSES = {
  StockReceived: 'received',
  StockAdjusted: 'adjusted',
  StockReserved: 'reserved',
  StockReservationReleased: 'released',
  StockReservationCommitted: 'committed',
  StockRestocked: 'restocked',
} as const;

/**
 * The outbox relay's mapping: every change of a SKU becomes
 * `inventory.stock-level-changed` (with the levels the event carries), and
 * each recorded outcome of an order's reservation becomes the reply to the
 * coordinator. `ReservationRequested` stays inside the service.
 * The message id is the event id, so a republished page is absorbed by the
 * consumers' inboxes.
 */
export function toMessages(event: RecordedEvent): OutgoingMessage[] {
  const build = <D extends MessageDefinition>(definition: D, data: MessageData<D>): OutgoingMessage[] => [
    buildMessage(definition, data, {
      id: event.id,
      source: 'inventory-service',
      correlationId: event.metadata.correlationId ?? event.id,
      ...(event.metadata.causationId ? { causationId: event.metadata.causationId } : {}),
      ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
    }),
  ];
  const e = { type: event.type, ...(event.data as object) } as StockEvent | ReservationEvent;
  switch (e.type) {
    case 'StockReceived':
    case 'StockAdjusted':
    case 'StockReserved':
    case 'StockReservationReleased':
    case 'StockReservationCommitted':
    case 'StockRestocked':
      return build(StockLevelChanged, {
        sku: e.sku,
        ...e.levels,
        cause: CAUSES[e.type],
        ...('orderId' in e ? { orderId: e.orderId } : {}),
        changedAt: changedAt(e),
      });
    case 'ReservationSucceeded':
      return build(StockReserved, { orderId: e.orderId, lines: e.lines });
    case 'ReservationFailed':
      return build(StockReservationFailed, { orderId: e.orderId, shortages: e.shortages });
    case 'ReservationReleased':
    case 'ReservationRestocked':
      // A release after the commit restocks the sold lines: the same reply, listing them.
      return build(StockReleased, { orderId: e.orderId, lines: e.lines });
    case 'ReservationCommitted':
      return build(ReservationCommitted, { orderId: e.orderId, lines: e.lines });
    case 'ReservationRequested':
      return [];
    default:
      return [];
  }
}

function changedAt(e: StockEvent): string {
  switch (e.type) {
    case 'StockReceived':
      return e.receivedAt;
    case 'StockAdjusted':
      return e.adjustedAt;
    case 'StockReserved':
      return e.reservedAt;
    case 'StockReservationReleased':
      return e.releasedAt;
    case 'StockReservationCommitted':
      return e.committedAt;
    case 'StockRestocked':
      return e.restockedAt;
  }
}
