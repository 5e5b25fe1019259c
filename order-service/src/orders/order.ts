/**
 * The order aggregate, stream `order-<orderId>`: its events, their schemas
 * and codec, its state and `evolve`. Pure: no I/O, no clock, no ids.
 */
import { z } from 'zod';
import { Money, OrderChannel, OrderLine, PricedLine, Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';

// Money (minor units), order lines, priced lines and the channel are the contracts' own shapes.
export type { Money, OrderChannel, OrderLine, PricedLine };

export const ORDER_STATUSES = ['pending', 'confirmed', 'rejected', 'cancellation-requested', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const PAYMENT_STATUSES = ['none', 'authorized', 'declined', 'timed-out', 'voided'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

// `customerId` is carried by the events after OrderPlaced too: the outbox
// relay maps one stored event to one contract message, and the contract
// messages (order.confirmed, order.rejected, ...) name the customer.
export type OrderEvent =
  /** `channel`: how the customer placed the order (web shop, mobile app, or the HTTP API directly). */
  | { type: 'OrderPlaced'; orderId: string; customerId: string; lines: OrderLine[]; paymentToken: string; channel: OrderChannel; placedAt: string }
  | { type: 'PaymentAuthorized'; orderId: string; authorizationId: string; amount: Money; authorizedAt: string }
  | { type: 'PaymentDeclined'; orderId: string; reason: string; declinedAt: string }
  /** The provider never answered within the timeout. No reply: the coordinator's deadline compensates. */
  | { type: 'PaymentAuthorizationTimedOut'; orderId: string; at: string }
  | { type: 'PaymentVoided'; orderId: string; authorizationId?: string; voidedAt: string }
  | { type: 'OrderConfirmed'; orderId: string; customerId: string; lines: PricedLine[]; total: Money; confirmedAt: string }
  | { type: 'OrderRejected'; orderId: string; customerId: string; reason: string; rejectedAt: string }
  | {
      type: 'OrderCancellationRequested';
      orderId: string;
      customerId: string;
      requestedBy: string;
      reason?: string;
      requestedAt: string;
    }
  | { type: 'OrderCancelled'; orderId: string; customerId: string; reason: string; cancelledAt: string };

export type OrderEventType = OrderEvent['type'];

/**
 * What a stored order event holds (everything but its type), one schema per
 * event type: the codec reads the stream back through these, so a row that
 * does not match is a CorruptEventError naming the stream and revision.
 */
export const orderEventSchemas = {
  OrderPlaced: z.object({
    orderId: z.string(),
    customerId: z.string(),
    lines: z.array(OrderLine),
    paymentToken: z.string(),
    // Events stored before the channel was recorded: every order then came through the HTTP API.
    channel: OrderChannel.default('api'),
    placedAt: Timestamp,
  }),
  PaymentAuthorized: z.object({ orderId: z.string(), authorizationId: z.string(), amount: Money, authorizedAt: Timestamp }),
  PaymentDeclined: z.object({ orderId: z.string(), reason: z.string(), declinedAt: Timestamp }),
  PaymentAuthorizationTimedOut: z.object({ orderId: z.string(), at: Timestamp }),
  PaymentVoided: z.object({ orderId: z.string(), authorizationId: z.string().optional(), voidedAt: Timestamp }),
  OrderConfirmed: z.object({
    orderId: z.string(),
    customerId: z.string(),
    lines: z.array(PricedLine),
    total: Money,
    confirmedAt: Timestamp,
  }),
  OrderRejected: z.object({ orderId: z.string(), customerId: z.string(), reason: z.string(), rejectedAt: Timestamp }),
  OrderCancellationRequested: z.object({
    orderId: z.string(),
    customerId: z.string(),
    requestedBy: z.string(),
    reason: z.string().optional(),
    requestedAt: Timestamp,
  }),
  OrderCancelled: z.object({ orderId: z.string(), customerId: z.string(), reason: z.string(), cancelledAt: Timestamp }),
};

/** Stored order events <-> `OrderEvent`, validated: the write side, the projection and the outbox relay all read with it. */
export const orderCodec = eventCodec<OrderEvent>(orderEventSchemas);

export type Payment =
  | { status: 'none' }
  | { status: 'authorized'; authorizationId: string; amount: Money }
  | { status: 'declined'; reason: string }
  | { status: 'timed-out' }
  | { status: 'voided'; authorizationId?: string };

export interface Confirmation {
  lines: PricedLine[];
  total: Money;
  confirmedAt: string;
}

interface PlacedOrder {
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  paymentToken: string;
  placedAt: string;
  payment: Payment;
}

/**
 * The decider's state. `absent` is not an order status: it is the state of a
 * stream with no events, before the order is placed.
 */
export type Order =
  | { status: 'absent' }
  | (PlacedOrder & { status: 'pending' })
  | (PlacedOrder & { status: 'confirmed'; confirmation: Confirmation })
  | (PlacedOrder & { status: 'rejected'; reason: string })
  // The cancel-order saga runs after this; a place-order saga still in flight
  // may confirm meanwhile (the confirmation is recorded, the request stands).
  | (PlacedOrder & { status: 'cancellation-requested'; confirmation?: Confirmation })
  | (PlacedOrder & { status: 'cancelled'; reason: string; confirmation?: Confirmation });

export type ExistingOrder = Exclude<Order, { status: 'absent' }>;

export const initialState: Order = { status: 'absent' };

export const orderStreamId = (orderId: string): string => `order-${orderId}`;

/**
 * The status after `event`, given the status before it (undefined before
 * OrderPlaced); undefined when the event does not change the status. Shared by
 * `evolve` and the read model, so both tell the same story.
 */
export function statusAfter(current: OrderStatus | undefined, event: OrderEvent): OrderStatus | undefined {
  switch (event.type) {
    case 'OrderPlaced':
      return current === undefined ? 'pending' : undefined;
    case 'OrderConfirmed':
      return current === 'pending' ? 'confirmed' : undefined;
    case 'OrderRejected':
      return current === 'rejected' ? undefined : 'rejected';
    case 'OrderCancellationRequested':
      return current === 'cancellation-requested' ? undefined : 'cancellation-requested';
    case 'OrderCancelled':
      return current === 'cancelled' ? undefined : 'cancelled';
    default:
      return undefined;
  }
}

export function evolve(state: Order, event: OrderEvent): Order {
  if (event.type === 'OrderPlaced') {
    if (state.status !== 'absent') return state;
    const { orderId, customerId, lines, paymentToken, placedAt } = event;
    return { status: 'pending', orderId, customerId, lines, paymentToken, placedAt, payment: { status: 'none' } };
  }
  if (state.status === 'absent') return state;
  const placed: PlacedOrder = {
    orderId: state.orderId,
    customerId: state.customerId,
    lines: state.lines,
    paymentToken: state.paymentToken,
    placedAt: state.placedAt,
    payment: state.payment,
  };
  const confirmation = 'confirmation' in state ? state.confirmation : undefined;
  switch (event.type) {
    case 'PaymentAuthorized':
      return { ...state, payment: { status: 'authorized', authorizationId: event.authorizationId, amount: event.amount } };
    case 'PaymentDeclined':
      return { ...state, payment: { status: 'declined', reason: event.reason } };
    case 'PaymentAuthorizationTimedOut':
      return { ...state, payment: { status: 'timed-out' } };
    case 'PaymentVoided':
      return {
        ...state,
        payment: { status: 'voided', ...(event.authorizationId ? { authorizationId: event.authorizationId } : {}) },
      };
    case 'OrderConfirmed': {
      const recorded: Confirmation = { lines: event.lines, total: event.total, confirmedAt: event.confirmedAt };
      if (state.status === 'pending') return { ...placed, status: 'confirmed', confirmation: recorded };
      if (state.status === 'cancellation-requested') return { ...state, confirmation: recorded };
      return state;
    }
    case 'OrderRejected':
      return { ...placed, status: 'rejected', reason: event.reason };
    case 'OrderCancellationRequested':
      return { ...placed, status: 'cancellation-requested', ...(confirmation ? { confirmation } : {}) };
    case 'OrderCancelled':
      return { ...placed, status: 'cancelled', reason: event.reason, ...(confirmation ? { confirmation } : {}) };
  }
}
