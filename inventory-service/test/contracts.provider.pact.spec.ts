import type { Decider } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import { messageOfType, publishedFor, verifyProviderPacts } from '@shop/platform/testing/pacts';
import { expectProducedMessages } from '@shop/contracts/testing';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { toMessages } from '../src/integration/outbound/to-messages';
import { reservationDecider, type CompleteOrderReservation, type ReservationCommand } from '../src/reservations/decide';
import { reservationStreamId } from '../src/reservations/reservations';
import { reservationResult, stockDecider, type StockCommand } from '../src/stock/decide';
import { stockStreamId } from '../src/stock/stock-ledger';

const PROVIDER = 'inventory-service';
const now = '2030-01-01T00:00:00.000Z';
const sku = 'SKU-1';
const orderId = '33333333-3333-4333-8333-333333333333';
const lines = [{ sku, quantity: 2 }];

/** The events a decider decides for these commands, each on the state the ones before left. */
function decided<C, S, E extends { type: string }>(decider: Decider<C, S, E>, commands: readonly C[]): E[] {
  const spec = DeciderSpecification.for(decider);
  return commands.reduce<E[]>((events, command) => [...events, ...spec.given(events).when(command).decided().events], []);
}

const received = (quantity: number): StockCommand => ({ type: 'ReceiveStock', sku, quantity, now });

/** What reserving the order's line on the SKU finds after `onHand` were received: the hold, or the shortage (as `Reservations` reads it). */
function reservingWith(onHand: number): CompleteOrderReservation['outcome'] {
  const events = decided(stockDecider, [received(onHand), { type: 'ReserveStockForOrder', sku, orderId, quantity: 2, now }]);
  const result = reservationResult(DeciderSpecification.for(stockDecider).given(events).state, orderId, 2);
  if (result.outcome === 'reserved') return { allReserved: true };
  if (result.outcome !== 'short') throw new Error(`unexpected reservation result ${result.outcome}`);
  return { allReserved: false, shortages: [{ sku, requested: result.requested, available: result.available }] };
}

const requested: ReservationCommand = { type: 'RequestOrderReservation', orderId, lines, now };
const completed = (onHand: number): ReservationCommand => ({ type: 'CompleteOrderReservation', orderId, outcome: reservingWith(onHand), now });
const released: ReservationCommand = { type: 'ReleaseOrderReservation', orderId, now };
const committed: ReservationCommand = { type: 'CommitOrderReservation', orderId, now };

/** The reply of `type` the relay would publish for the order's reservation after `commands`. */
const reservationReply = (type: string, commands: readonly ReservationCommand[]) =>
  messageOfType(publishedFor(toMessages, reservationStreamId(orderId), decided(reservationDecider, commands)), type);

const STATES = [
  'stock of a SKU was received',
  "an order's lines are in stock",
  "an order's lines are not in stock",
  "an order's reservation was released",
  "an order's reservation was committed",
];

/** Each message the inventory publishes, from its real deciders and outbound mapping; the state names the message, so the builders ignore it. */
const messages = {
  'inventory.stock-level-changed v1': () =>
    messageOfType(publishedFor(toMessages, stockStreamId(sku), decided(stockDecider, [received(5)])), 'inventory.stock-level-changed'),
  'inventory.stock-reserved v1': () => reservationReply('inventory.stock-reserved', [requested, completed(5)]),
  'inventory.stock-reservation-failed v1': () => reservationReply('inventory.stock-reservation-failed', [requested, completed(1)]),
  'inventory.stock-released v1': () => reservationReply('inventory.stock-released', [requested, completed(5), released]),
  'inventory.reservation-committed v1': () => reservationReply('inventory.reservation-committed', [requested, completed(5), committed]),
};

describe('inventory-service as a provider (Pact)', () => {
  it('builds every version of every message the catalogue says it produces, each valid under its contract', () => expectProducedMessages(PROVIDER, messages));

  it('publishes every message its consumers expect, from its real deciders and outbound mapping', async () => {
    const records = await verifyProviderPacts({ provider: PROVIDER, version: pkg.version, states: STATES, messages });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.verified)).toBe(true);
  });
});
