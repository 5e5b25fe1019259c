import { ConflictError, ValidationError, type Decider } from '@shop/platform';
import { evolve, holdOf, initialState, receiptOf, levelsOf, stockCodec, type HoldStatus, type Stock, type StockEvent } from './stock';

/** Commands on one SKU. Time comes in as data (`now`, ISO 8601), so every decision is pure. */
export interface ReceiveStock {
  type: 'ReceiveStock';
  sku: string;
  quantity: number;
  now: string;
  /** Counts the receipt once: a repeat with the same id and quantity decides nothing, one with another quantity is refused. */
  receiptId?: string;
}
export interface AdjustStock {
  type: 'AdjustStock';
  sku: string;
  delta: number;
  reason: string;
  now: string;
}
export interface ReserveStockForOrder {
  type: 'ReserveStockForOrder';
  sku: string;
  orderId: string;
  quantity: number;
  now: string;
}
export interface ReleaseStockForOrder {
  type: 'ReleaseStockForOrder';
  sku: string;
  orderId: string;
  now: string;
}
export interface CommitStockForOrder {
  type: 'CommitStockForOrder';
  sku: string;
  orderId: string;
  now: string;
}
/** The confirmed order was cancelled: what it bought here goes back on hand. */
export interface RestockForOrder {
  type: 'RestockForOrder';
  sku: string;
  orderId: string;
  now: string;
}
export type StockCommand = ReceiveStock | AdjustStock | ReserveStockForOrder | ReleaseStockForOrder | CommitStockForOrder | RestockForOrder;

type Unlevelled<E> = E extends StockEvent ? Omit<E, 'levels'> : never;

/** Stamps an event with the levels it leads to, computed by `evolve` itself so they cannot disagree. */
function withLevels(state: Stock, event: Unlevelled<StockEvent>): StockEvent {
  const draft: StockEvent = { ...event, levels: levelsOf(state) };
  return { ...draft, levels: levelsOf(evolve(state, draft)) };
}

export function receiveStock(command: ReceiveStock, state: Stock): StockEvent[] {
  if (!Number.isInteger(command.quantity) || command.quantity <= 0) {
    throw new ValidationError('a receipt quantity is a positive integer', { quantity: command.quantity });
  }
  if (command.receiptId !== undefined) {
    const counted = receiptOf(state, command.receiptId);
    if (counted === command.quantity) return [];
    if (counted !== undefined) {
      throw new ConflictError(`receipt ${command.receiptId} was already counted with quantity ${counted}, not ${command.quantity}`, {
        receiptId: command.receiptId,
        counted,
      });
    }
  }
  const receiptId = command.receiptId === undefined ? {} : { receiptId: command.receiptId };
  return [withLevels(state, { type: 'StockReceived', sku: command.sku, quantity: command.quantity, receivedAt: command.now, ...receiptId })];
}

/** An adjustment may not take the physical stock below zero, nor below what is promised to orders. */
export function adjustStock(command: AdjustStock, state: Stock): StockEvent[] {
  if (!Number.isInteger(command.delta) || command.delta === 0) {
    throw new ValidationError('an adjustment delta is a non-zero integer', { delta: command.delta });
  }
  const { onHand, reserved } = levelsOf(state);
  const after = onHand + command.delta;
  if (after < 0) {
    throw new ConflictError(`adjusting ${command.sku} by ${command.delta} would take on-hand stock below zero`, { sku: command.sku, onHand, delta: command.delta });
  }
  if (after < reserved) {
    throw new ConflictError(`adjusting ${command.sku} by ${command.delta} would leave less on hand than is reserved`, {
      sku: command.sku,
      onHand,
      reserved,
      delta: command.delta,
    });
  }
  return [
    withLevels(state, { type: 'StockAdjusted', sku: command.sku, delta: command.delta, reason: command.reason, adjustedAt: command.now }),
  ];
}

/**
 * Opens the order's hold if enough is available. An order that already has a
 * hold here (open, released or committed) gets nothing new: a redelivery
 * reserves once, and a hold released by a compensation is never reopened.
 * A shortage is not an error and appends nothing: see `reservationResult`.
 */
export function reserveStockForOrder(command: ReserveStockForOrder, state: Stock): StockEvent[] {
  if (holdOf(state, command.orderId)) return [];
  if (command.quantity > levelsOf(state).available) return [];
  return [
    withLevels(state, {
      type: 'StockReserved',
      sku: command.sku,
      orderId: command.orderId,
      quantity: command.quantity,
      reservedAt: command.now,
    }),
  ];
}

/** Releases the order's open hold; no hold, or one already ended, releases nothing. */
export function releaseStockForOrder(command: ReleaseStockForOrder, state: Stock): StockEvent[] {
  const hold = holdOf(state, command.orderId);
  if (hold?.status !== 'reserved') return [];
  return [
    withLevels(state, {
      type: 'StockReservationReleased',
      sku: command.sku,
      orderId: command.orderId,
      quantity: hold.quantity,
      releasedAt: command.now,
    }),
  ];
}

/** The order is confirmed: its open hold is sold and leaves the stock on hand. */
export function commitStockForOrder(command: CommitStockForOrder, state: Stock): StockEvent[] {
  const hold = holdOf(state, command.orderId);
  if (hold?.status !== 'reserved') return [];
  return [
    withLevels(state, {
      type: 'StockReservationCommitted',
      sku: command.sku,
      orderId: command.orderId,
      quantity: hold.quantity,
      committedAt: command.now,
    }),
  ];
}

/**
 * Puts the order's sold quantity back on hand (sold − q, onHand + q; received
 * unchanged). Only a committed hold is restocked, and only once: a hold never
 * committed, or already restocked, restocks nothing.
 */
export function restockForOrder(command: RestockForOrder, state: Stock): StockEvent[] {
  const hold = holdOf(state, command.orderId);
  if (hold?.status !== 'committed') return [];
  return [
    withLevels(state, {
      type: 'StockRestocked',
      sku: command.sku,
      orderId: command.orderId,
      quantity: hold.quantity,
      restockedAt: command.now,
    }),
  ];
}

export function decide(command: StockCommand, state: Stock): StockEvent[] {
  switch (command.type) {
    case 'ReceiveStock':
      return receiveStock(command, state);
    case 'AdjustStock':
      return adjustStock(command, state);
    case 'ReserveStockForOrder':
      return reserveStockForOrder(command, state);
    case 'ReleaseStockForOrder':
      return releaseStockForOrder(command, state);
    case 'CommitStockForOrder':
      return commitStockForOrder(command, state);
    case 'RestockForOrder':
      return restockForOrder(command, state);
  }
}

/** The stock of one SKU: its state, events and codec (stock.ts) with the decisions above. */
export const stockDecider: Decider<StockCommand, Stock, StockEvent> = { initialState, evolve, decide, codec: stockCodec };

/** What a reservation attempt left for the order on this SKU. */
export type ReservationResult =
  | { outcome: 'reserved'; quantity: number }
  | { outcome: 'ended'; status: Exclude<HoldStatus, 'reserved'> }
  | { outcome: 'short'; requested: number; available: number };

export function reservationResult(state: Stock, orderId: string, requested: number): ReservationResult {
  const hold = holdOf(state, orderId);
  if (hold?.status === 'reserved') return { outcome: 'reserved', quantity: hold.quantity };
  if (hold) return { outcome: 'ended', status: hold.status };
  return { outcome: 'short', requested, available: levelsOf(state).available };
}
