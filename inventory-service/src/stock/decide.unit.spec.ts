import { ConflictError, ValidationError } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import { describe, expect, it } from 'vitest';
import { reservationResult, stockDecider } from './decide';
import type { StockEvent, StockLevels } from './stock';

const spec = DeciderSpecification.for(stockDecider);
const sku = 'SKU-1';
const orderId = '5b0f0c3e-1c1a-4c3e-9a1e-2f3d4c5b6a70';
const other = '7d9e8f10-2b3c-4d5e-8f90-a1b2c3d4e5f6';
const now = '2025-01-01T10:00:00.000Z';

const levels = (onHand: number, reserved: number, sold = 0, received = onHand + sold): StockLevels => ({
  onHand,
  reserved,
  available: onHand - reserved,
  sold,
  received,
});
const received = (quantity: number, after: StockLevels, receiptId?: string): StockEvent => ({
  type: 'StockReceived',
  sku,
  quantity,
  receivedAt: now,
  ...(receiptId === undefined ? {} : { receiptId }),
  levels: after,
});
const reserved = (order: string, quantity: number, after: StockLevels): StockEvent => ({
  type: 'StockReserved',
  sku,
  orderId: order,
  quantity,
  reservedAt: now,
  levels: after,
});
const released = (order: string, quantity: number, after: StockLevels): StockEvent => ({
  type: 'StockReservationReleased',
  sku,
  orderId: order,
  quantity,
  releasedAt: now,
  levels: after,
});
const committed = (order: string, quantity: number, after: StockLevels): StockEvent => ({
  type: 'StockReservationCommitted',
  sku,
  orderId: order,
  quantity,
  committedAt: now,
  levels: after,
});
const restocked = (order: string, quantity: number, after: StockLevels): StockEvent => ({
  type: 'StockRestocked',
  sku,
  orderId: order,
  quantity,
  restockedAt: now,
  levels: after,
});

const receive = (quantity: number) => ({ type: 'ReceiveStock' as const, sku, quantity, now });
const adjust = (delta: number) => ({ type: 'AdjustStock' as const, sku, delta, reason: 'stock count', now });
const reserve = (order: string, quantity: number) => ({ type: 'ReserveStockForOrder' as const, sku, orderId: order, quantity, now });
const release = (order: string) => ({ type: 'ReleaseStockForOrder' as const, sku, orderId: order, now });
const commit = (order: string) => ({ type: 'CommitStockForOrder' as const, sku, orderId: order, now });
const restock = (order: string) => ({ type: 'RestockForOrder' as const, sku, orderId: order, now });

const stocked10 = received(10, levels(10, 0));
const held3 = reserved(orderId, 3, levels(10, 3));

describe('stock of a SKU', () => {
  describe('when the SKU was never stocked', () => {
    it('receives stock, with the levels after it', () => {
      spec.given([]).when(receive(5)).then([received(5, levels(5, 0))]);
    });
    it('refuses a receipt that is not a positive integer', () => {
      spec.given([]).when(receive(0)).thenThrows(ValidationError);
      spec.given([]).when(receive(2.5)).thenThrows(ValidationError);
    });
    it('accepts a positive adjustment (stock found)', () => {
      spec.given([])
        .when(adjust(2))
        .then([{ type: 'StockAdjusted', sku, delta: 2, reason: 'stock count', adjustedAt: now, levels: { ...levels(2, 0), received: 0 } }]);
    });
    it('refuses a negative adjustment with a conflict', () => {
      spec.given([]).when(adjust(-1)).thenThrows(ConflictError, /below zero/);
    });
    it('reserves nothing: a shortage appends nothing', () => {
      spec.given([]).when(reserve(orderId, 1)).thenNothing();
    });
    it('releases, commits and restocks nothing', () => {
      spec.given([]).when(release(orderId)).thenNothing();
      spec.given([]).when(commit(orderId)).thenNothing();
      spec.given([]).when(restock(orderId)).thenNothing();
    });
  });

  describe('when the SKU has stock and no reservation', () => {
    it('adds a receipt to what is received and on hand', () => {
      spec.given([stocked10]).when(receive(5)).then([received(5, levels(15, 0))]);
    });
    it('adjusts the stock on hand down, keeping the accounting', () => {
      spec.given([stocked10])
        .when(adjust(-4))
        .then([{ type: 'StockAdjusted', sku, delta: -4, reason: 'stock count', adjustedAt: now, levels: { ...levels(6, 0), received: 10 } }]);
    });
    it('refuses an adjustment below zero', () => {
      spec.given([stocked10]).when(adjust(-11)).thenThrows(ConflictError, /below zero/);
    });
    it('counts a named receipt once: the same id and quantity again decides nothing, another quantity is a conflict', () => {
      const note = received(3, levels(13, 0), 'r-1');
      spec.given([stocked10]).when({ ...receive(3), receiptId: 'r-1' }).then([note]);
      spec.given([stocked10, note]).when({ ...receive(3), receiptId: 'r-1' }).thenNothing();
      spec.given([stocked10, note]).when({ ...receive(4), receiptId: 'r-1' }).thenThrows(ConflictError, /already counted with quantity 3/);
      spec.given([stocked10, note]).when({ ...receive(3), receiptId: 'r-2' }).then([received(3, levels(16, 0), 'r-2')]);
      spec.given([stocked10, note]).when(receive(3)).then([received(3, levels(16, 0))]);
    });
    it('refuses a zero adjustment', () => {
      spec.given([stocked10]).when(adjust(0)).thenThrows(ValidationError);
    });
    it('reserves for an order up to the available quantity', () => {
      spec.given([stocked10]).when(reserve(orderId, 10)).then([reserved(orderId, 10, levels(10, 10))]);
    });
    it('reserves nothing when the order asks for more than is available', () => {
      spec.given([stocked10]).when(reserve(orderId, 11)).thenNothing();
    });
    it('releases, commits and restocks nothing for an order without a hold', () => {
      spec.given([stocked10]).when(release(orderId)).thenNothing();
      spec.given([stocked10]).when(commit(orderId)).thenNothing();
      spec.given([stocked10]).when(restock(orderId)).thenNothing();
    });
  });

  describe('when an order holds a reservation', () => {
    it('does not reserve twice for the same order', () => {
      spec.given([stocked10, held3]).when(reserve(orderId, 3)).thenNothing();
    });
    it('reserves for another order only from what is still available', () => {
      spec.given([stocked10, held3]).when(reserve(other, 7)).then([reserved(other, 7, levels(10, 10))]);
      spec.given([stocked10, held3]).when(reserve(other, 8)).thenNothing();
    });
    it('releases the hold, making its quantity available again', () => {
      spec.given([stocked10, held3]).when(release(orderId)).then([released(orderId, 3, levels(10, 0))]);
    });
    it('commits the hold: sold, and no longer on hand', () => {
      spec.given([stocked10, held3]).when(commit(orderId)).then([committed(orderId, 3, levels(7, 0, 3))]);
    });
    it('restocks nothing: an open hold was never sold', () => {
      spec.given([stocked10, held3]).when(restock(orderId)).thenNothing();
    });
    it('refuses an adjustment that would leave less on hand than is reserved', () => {
      spec.given([stocked10, held3]).when(adjust(-8)).thenThrows(ConflictError, /reserved/);
    });
    it('allows an adjustment down to exactly what is reserved', () => {
      spec.given([stocked10, held3])
        .when(adjust(-7))
        .then([{ type: 'StockAdjusted', sku, delta: -7, reason: 'stock count', adjustedAt: now, levels: { ...levels(3, 3), received: 10 } }]);
    });
  });

  describe('when the order hold was released', () => {
    const history = [stocked10, held3, released(orderId, 3, levels(10, 0))];
    it('never reopens it: a late reservation for the same order decides nothing', () => {
      spec.given(history).when(reserve(orderId, 3)).thenNothing();
    });
    it('releases, commits and restocks nothing more', () => {
      spec.given(history).when(release(orderId)).thenNothing();
      spec.given(history).when(commit(orderId)).thenNothing();
      spec.given(history).when(restock(orderId)).thenNothing();
    });
  });

  describe('when the order hold was committed', () => {
    const history = [stocked10, held3, committed(orderId, 3, levels(7, 0, 3))];
    it('reserves, releases and commits nothing more for that order', () => {
      spec.given(history).when(reserve(orderId, 3)).thenNothing();
      spec.given(history).when(release(orderId)).thenNothing();
      spec.given(history).when(commit(orderId)).thenNothing();
    });
    it('restocks the sold quantity: back on hand, no longer sold, received unchanged', () => {
      spec.given(history).when(restock(orderId)).then([restocked(orderId, 3, levels(10, 0, 0, 10))]);
    });
    it("restocks only that order's sale, next to another order's open hold", () => {
      spec.given([...history, reserved(other, 5, levels(7, 5, 3))])
        .when(restock(orderId))
        .then([restocked(orderId, 3, levels(10, 5, 0, 10))]);
    });
    it('restocks after an adjustment, keeping onHand + sold = received + adjustments', () => {
      spec.given([...history, { type: 'StockAdjusted', sku, delta: -2, reason: 'damaged', adjustedAt: now, levels: levels(5, 0, 3, 10) }])
        .when(restock(orderId))
        .then([restocked(orderId, 3, levels(8, 0, 0, 10))]);
    });
  });

  describe('when the order hold was restocked', () => {
    const history = [stocked10, held3, committed(orderId, 3, levels(7, 0, 3)), restocked(orderId, 3, levels(10, 0, 0, 10))];
    it('restocks nothing twice', () => {
      spec.given(history).when(restock(orderId)).thenNothing();
    });
    it('never reopens, releases or commits it', () => {
      spec.given(history).when(reserve(orderId, 3)).thenNothing();
      spec.given(history).when(release(orderId)).thenNothing();
      spec.given(history).when(commit(orderId)).thenNothing();
    });
    it('offers the restocked quantity to other orders', () => {
      spec.given(history).when(reserve(other, 10)).then([reserved(other, 10, levels(10, 10, 0, 10))]);
    });
  });
});

describe('reservation result', () => {
  it('tells a hold, an ended hold and a shortage apart', () => {
    const open = spec.given([stocked10, held3]).state;
    expect(reservationResult(open, orderId, 3)).toEqual({ outcome: 'reserved', quantity: 3 });
    expect(reservationResult(open, other, 8)).toEqual({ outcome: 'short', requested: 8, available: 7 });
    const ended = spec.given([stocked10, held3, released(orderId, 3, levels(10, 0))]).state;
    expect(reservationResult(ended, orderId, 3)).toEqual({ outcome: 'ended', status: 'released' });
    const restockedHold = spec.given([stocked10, held3, committed(orderId, 3, levels(7, 0, 3)), restocked(orderId, 3, levels(10, 0, 0, 10))]).state;
    expect(reservationResult(restockedHold, orderId, 3)).toEqual({ outcome: 'ended', status: 'restocked' });
  });
});
