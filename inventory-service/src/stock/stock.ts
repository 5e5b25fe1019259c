/**
 * Stock of one SKU, stream `stock-<SKU>`.
 *
 * Accounting (always true after any event):
 *   onHand    = received + adjusted - sold      (physical stock in the warehouse)
 *   reserved  = sum of the open holds           (promised to orders, still on hand)
 *   available = onHand - reserved  >= 0
 * A hold is one order's reservation on this SKU. It is opened at most once
 * per order and then only ever released or committed, so redelivered or
 * concurrent commands for the same order never reserve twice. A committed
 * hold may later be restocked (the confirmed order was cancelled): its sold
 * quantity goes back on hand, once.
 */
import { OrderId, Sku, Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';
import { z } from 'zod';

export type HoldStatus = 'reserved' | 'released' | 'committed' | 'restocked';
export interface Hold {
  status: HoldStatus;
  quantity: number;
}

export interface StockLevels {
  onHand: number;
  reserved: number;
  available: number;
  sold: number;
  received: number;
}

export type Stock =
  | { status: 'untracked' }
  | {
      status: 'tracked';
      sku: string;
      received: number;
      adjusted: number;
      onHand: number;
      reserved: number;
      sold: number;
      holds: Readonly<Record<string, Hold>>;
      /** Receipts counted, by receipt id (from the admin's Idempotency-Key): each is counted once. */
      receipts: Readonly<Record<string, number>>;
    };

type Tracked = Extract<Stock, { status: 'tracked' }>;

/** Every SKU event carries the levels after it, for the relay and the read model. */
export type StockEvent =
  | { type: 'StockReceived'; sku: string; quantity: number; receivedAt: string; receiptId?: string; levels: StockLevels }
  | { type: 'StockAdjusted'; sku: string; delta: number; reason: string; adjustedAt: string; levels: StockLevels }
  | { type: 'StockReserved'; sku: string; orderId: string; quantity: number; reservedAt: string; levels: StockLevels }
  | { type: 'StockReservationReleased'; sku: string; orderId: string; quantity: number; releasedAt: string; levels: StockLevels }
  | { type: 'StockReservationCommitted'; sku: string; orderId: string; quantity: number; committedAt: string; levels: StockLevels }
  | { type: 'StockRestocked'; sku: string; orderId: string; quantity: number; restockedAt: string; levels: StockLevels };

const Count = z.number().int().min(0);
const Quantity = z.number().int().positive();
const Levels = z.object({ onHand: Count, reserved: Count, available: Count, sold: Count, received: Count });
const HoldChange = z.object({ sku: Sku, orderId: OrderId, quantity: Quantity, levels: Levels });

/** How the `stock-<SKU>` events are read back: each type's data, validated (a stored event that does not match is a `CorruptEventError`). */
export const stockCodec = eventCodec<StockEvent>({
  StockReceived: z.object({ sku: Sku, quantity: Quantity, receivedAt: Timestamp, receiptId: z.string().min(1).max(100).optional(), levels: Levels }),
  StockAdjusted: z.object({ sku: Sku, delta: z.number().int(), reason: z.string().min(1), adjustedAt: Timestamp, levels: Levels }),
  StockReserved: HoldChange.extend({ reservedAt: Timestamp }),
  StockReservationReleased: HoldChange.extend({ releasedAt: Timestamp }),
  StockReservationCommitted: HoldChange.extend({ committedAt: Timestamp }),
  StockRestocked: HoldChange.extend({ restockedAt: Timestamp }),
});

export const initialState: Stock = { status: 'untracked' };

function tracked(state: Stock, sku: string): Tracked {
  return state.status === 'tracked'
    ? state
    : { status: 'tracked', sku, received: 0, adjusted: 0, onHand: 0, reserved: 0, sold: 0, holds: {}, receipts: {} };
}

/** The figures of a state, zeros for a SKU never seen. */
export function levelsOf(state: Stock): StockLevels {
  if (state.status === 'untracked') return { onHand: 0, reserved: 0, available: 0, sold: 0, received: 0 };
  return {
    onHand: state.onHand,
    reserved: state.reserved,
    available: state.onHand - state.reserved,
    sold: state.sold,
    received: state.received,
  };
}

/** The quantity a receipt id was counted with, if it was. */
export function receiptOf(state: Stock, receiptId: string): number | undefined {
  return state.status === 'tracked' ? state.receipts[receiptId] : undefined;
}

export function holdOf(state: Stock, orderId: string): Hold | undefined {
  return state.status === 'tracked' ? state.holds[orderId] : undefined;
}

/** `levels` in the events is derived data: the state is always computed from the quantities. */
export function evolve(state: Stock, event: StockEvent): Stock {
  const s = tracked(state, event.sku);
  switch (event.type) {
    case 'StockReceived':
      return {
        ...s,
        received: s.received + event.quantity,
        onHand: s.onHand + event.quantity,
        receipts: event.receiptId === undefined ? s.receipts : { ...s.receipts, [event.receiptId]: event.quantity },
      };
    case 'StockAdjusted':
      return { ...s, adjusted: s.adjusted + event.delta, onHand: s.onHand + event.delta };
    case 'StockReserved':
      return {
        ...s,
        reserved: s.reserved + event.quantity,
        holds: { ...s.holds, [event.orderId]: { status: 'reserved', quantity: event.quantity } },
      };
    case 'StockReservationReleased':
      return {
        ...s,
        reserved: s.reserved - event.quantity,
        holds: { ...s.holds, [event.orderId]: { status: 'released', quantity: event.quantity } },
      };
    case 'StockReservationCommitted':
      return {
        ...s,
        reserved: s.reserved - event.quantity,
        onHand: s.onHand - event.quantity,
        sold: s.sold + event.quantity,
        holds: { ...s.holds, [event.orderId]: { status: 'committed', quantity: event.quantity } },
      };
    case 'StockRestocked':
      return {
        ...s,
        onHand: s.onHand + event.quantity,
        sold: s.sold - event.quantity,
        holds: { ...s.holds, [event.orderId]: { status: 'restocked', quantity: event.quantity } },
      };
  }
}
