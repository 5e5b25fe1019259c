import { ConcurrencyError, ConflictError, NotFoundError, UnprocessableError, type Decider } from '@shop/platform';
import {
  evolve,
  initialState,
  orderCodec,
  type ExistingOrder,
  type Money,
  type Order,
  type OrderChannel,
  type OrderEvent,
  type OrderLine,
  type PricedLine,
} from './order';

/**
 * The order's commands and one pure decision each. Time (`now`) and ids come
 * in as data. Every decision is idempotent with respect to its command: a
 * command whose effect is already in the stream decides nothing, so a
 * redelivered or retried command changes nothing.
 *
 * Expected outcomes are events; a command that breaks a rule throws a typed
 * error (404, 409, 422). The command consumer dead-letters those with the
 * reason; the HTTP kit turns them into problems.
 */

export interface PlaceOrder {
  type: 'PlaceOrder';
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  paymentToken: string;
  channel: OrderChannel;
  now: string;
}

export interface RequestCancellation {
  type: 'RequestCancellation';
  orderId: string;
  requestedBy: { subject: string; admin: boolean };
  reason?: string;
  now: string;
}

/** What the payment provider said, or that it did not say anything in time. */
export type PaymentAnswer =
  | { outcome: 'approved'; authorizationId: string }
  | { outcome: 'declined'; reason: string }
  | { outcome: 'timed-out' };

export interface AuthorizePayment {
  type: 'AuthorizePayment';
  orderId: string;
  amount: Money;
  /** The provider's answer, when `paymentToAuthorize` said the provider had to be asked. */
  answer?: PaymentAnswer;
  now: string;
}

export interface VoidPayment {
  type: 'VoidPayment';
  orderId: string;
  /** The authorization voided at the provider, when `authorizationToVoid` named one. */
  voidedAuthorizationId?: string;
  now: string;
}

export interface ConfirmOrder {
  type: 'ConfirmOrder';
  orderId: string;
  lines: PricedLine[];
  total: Money;
  now: string;
}

export interface RejectOrder {
  type: 'RejectOrder';
  orderId: string;
  reason: string;
  now: string;
}

export interface CancelOrder {
  type: 'CancelOrder';
  orderId: string;
  reason: string;
  now: string;
}

export type OrderCommand =
  | PlaceOrder
  | RequestCancellation
  | AuthorizePayment
  | VoidPayment
  | ConfirmOrder
  | RejectOrder
  | CancelOrder;

function existing(state: Order, orderId: string): ExistingOrder {
  if (state.status === 'absent') throw new NotFoundError(`order ${orderId} does not exist`, { orderId });
  return state;
}

const sameLines = (a: readonly OrderLine[], b: readonly OrderLine[]) =>
  a.length === b.length && a.every((line, i) => line.sku === b[i]!.sku && line.quantity === b[i]!.quantity);

/**
 * Places the order. The order id is derived from the customer and the
 * request's Idempotency-Key, so a retry that reaches this point again (after
 * a crash between the append and the stored HTTP response) finds its own
 * order and decides nothing.
 */
export function placeOrder(command: PlaceOrder, state: Order): OrderEvent[] {
  if (state.status !== 'absent') {
    const same =
      state.customerId === command.customerId &&
      state.paymentToken === command.paymentToken &&
      sameLines(state.lines, command.lines);
    if (same) return [];
    throw new UnprocessableError(`order ${command.orderId} was already placed with a different request`, {
      orderId: command.orderId,
    });
  }
  return [
    {
      type: 'OrderPlaced',
      orderId: command.orderId,
      customerId: command.customerId,
      lines: command.lines,
      paymentToken: command.paymentToken,
      channel: command.channel,
      placedAt: command.now,
    },
  ];
}

/**
 * A customer (the owner) or an admin asks to cancel a pending or confirmed
 * order. Another customer's order looks absent (404), as it does to reads.
 * Asking again, or asking for an order that is already over, is a 409: the
 * request is a fact with a time, not a state to converge to.
 */
export function requestCancellation(command: RequestCancellation, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (!command.requestedBy.admin && command.requestedBy.subject !== order.customerId) {
    throw new NotFoundError(`order ${command.orderId} does not exist`, { orderId: command.orderId });
  }
  if (order.status !== 'pending' && order.status !== 'confirmed') {
    throw new ConflictError(`order ${command.orderId} is ${order.status}: only a pending or confirmed order can be cancelled`, {
      orderId: command.orderId,
      status: order.status,
    });
  }
  return [
    {
      type: 'OrderCancellationRequested',
      orderId: order.orderId,
      customerId: order.customerId,
      requestedBy: command.requestedBy.subject,
      ...(command.reason ? { reason: command.reason } : {}),
      requestedAt: command.now,
    },
  ];
}

const isLive = (order: ExistingOrder) => order.status === 'pending' || order.status === 'cancellation-requested';
const paymentOpen = (order: ExistingOrder) => order.payment.status === 'none' || order.payment.status === 'timed-out';

/**
 * The payment token to send to the provider for AuthorizePayment, or
 * undefined when the provider must not be asked: the order is not pending
 * (or cancellation-requested), or its payment is already settled.
 * A timed-out authorization may be asked again: the provider call carries an
 * idempotency key derived from the order, so it cannot authorize twice.
 */
export function paymentToAuthorize(state: Order): string | undefined {
  if (state.status === 'absent' || !isLive(state) || !paymentOpen(state)) return undefined;
  return state.paymentToken;
}

/**
 * Records the provider's answer.
 * - payment already authorized, declined or voided: nothing (the reply went out with the first answer);
 * - an answer: its event, whatever the order's status meanwhile (it is what the provider did; a late
 *   authorization is then voided by the coordinator's compensation);
 * - pending or cancellation-requested, no answer: the provider must be asked first (retriable error);
 * - confirmed: nothing (a confirmed order's payment is authorized);
 * - rejected or cancelled, no answer: declined without asking the provider (no money is taken for an
 *   order that is over), so the saga still gets its reply.
 */
export function authorizePayment(command: AuthorizePayment, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (!paymentOpen(order)) return [];
  const { answer } = command;
  if (answer?.outcome === 'approved') {
    return [
      {
        type: 'PaymentAuthorized',
        orderId: order.orderId,
        authorizationId: answer.authorizationId,
        amount: command.amount,
        authorizedAt: command.now,
      },
    ];
  }
  if (answer?.outcome === 'declined') {
    return [{ type: 'PaymentDeclined', orderId: order.orderId, reason: answer.reason, declinedAt: command.now }];
  }
  if (answer?.outcome === 'timed-out') {
    // Asked again after an earlier timeout and still no answer: already recorded.
    if (order.payment.status === 'timed-out') return [];
    return [{ type: 'PaymentAuthorizationTimedOut', orderId: order.orderId, at: command.now }];
  }
  if (isLive(order)) {
    throw new ConcurrencyError(`order ${command.orderId} needs the payment provider's answer before it can be decided`, {
      orderId: command.orderId,
    });
  }
  if (order.status === 'confirmed') return [];
  return [
    {
      type: 'PaymentDeclined',
      orderId: order.orderId,
      reason: `order is ${order.status}: no payment was taken`,
      declinedAt: command.now,
    },
  ];
}

/**
 * The authorization to void at the provider for VoidPayment, or undefined
 * when there is none (or the order is confirmed, which refuses the void).
 */
export function authorizationToVoid(state: Order): string | undefined {
  if (state.status === 'absent' || state.status === 'confirmed' || state.payment.status !== 'authorized') return undefined;
  return state.payment.authorizationId;
}

/**
 * Voids the payment. Voiding nothing is not an error: an order without an
 * authorization (none, declined, timed out) gets PaymentVoided without an
 * authorization id, so the saga's compensation gets its reply. Voiding twice
 * decides nothing. A confirmed order's payment is refused (409): it is only
 * voided after a cancellation request.
 */
export function voidPayment(command: VoidPayment, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (order.status === 'confirmed') {
    throw new ConflictError(`order ${command.orderId} is confirmed: its payment is voided only after a cancellation request`, {
      orderId: command.orderId,
    });
  }
  const payment = order.payment;
  if (payment.status === 'voided') return [];
  if (payment.status === 'authorized') {
    if (command.voidedAuthorizationId !== payment.authorizationId) {
      throw new ConcurrencyError(`order ${command.orderId}: authorization ${payment.authorizationId} must be voided at the provider first`, {
        orderId: command.orderId,
      });
    }
    return [{ type: 'PaymentVoided', orderId: order.orderId, authorizationId: payment.authorizationId, voidedAt: command.now }];
  }
  return [{ type: 'PaymentVoided', orderId: order.orderId, voidedAt: command.now }];
}

const sameMoney = (a: Money, b: Money) => a.amount === b.amount && a.currency === b.currency;

/**
 * Confirms the order at the given prices. The order service owns the
 * payment, so it holds the invariant that a confirmed order is paid: the
 * authorization must exist and be for the total (409 otherwise).
 * Confirming again decides nothing; a rejected or cancelled order cannot be
 * confirmed (409). While a cancellation is requested, a place-order saga that
 * still completes records its confirmation, and the request stands.
 */
export function confirmOrder(command: ConfirmOrder, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (order.status === 'confirmed') return [];
  if (order.status === 'cancellation-requested' && order.confirmation) return [];
  if (order.status === 'rejected' || order.status === 'cancelled') {
    throw new ConflictError(`order ${command.orderId} is ${order.status} and cannot be confirmed`, {
      orderId: command.orderId,
      status: order.status,
    });
  }
  if (order.payment.status !== 'authorized') {
    throw new ConflictError(`order ${command.orderId} cannot be confirmed: its payment is ${order.payment.status}, not authorized`, {
      orderId: command.orderId,
      payment: order.payment.status,
    });
  }
  if (!sameMoney(order.payment.amount, command.total)) {
    throw new ConflictError(`order ${command.orderId} cannot be confirmed: the total differs from the authorized amount`, {
      orderId: command.orderId,
      authorized: order.payment.amount,
      total: command.total,
    });
  }
  return [
    {
      type: 'OrderConfirmed',
      orderId: order.orderId,
      customerId: order.customerId,
      lines: command.lines,
      total: command.total,
      confirmedAt: command.now,
    },
  ];
}

/**
 * Rejects a pending order (also when its cancellation is requested, as long
 * as it was not confirmed). Rejecting again decides nothing, and so does
 * rejecting a cancelled order (it is over either way); rejecting a confirmed
 * order is refused (409).
 */
export function rejectOrder(command: RejectOrder, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (order.status === 'rejected' || order.status === 'cancelled') return [];
  if (order.status === 'confirmed' || (order.status === 'cancellation-requested' && order.confirmation)) {
    throw new ConflictError(`order ${command.orderId} is confirmed and cannot be rejected`, { orderId: command.orderId });
  }
  return [{ type: 'OrderRejected', orderId: order.orderId, customerId: order.customerId, reason: command.reason, rejectedAt: command.now }];
}

/**
 * Marks the order cancelled: the last step of the cancel-order saga (from
 * cancellation-requested), or the coordinator cancelling on its own (from
 * pending or confirmed). Cancelling again decides nothing, and so does
 * cancelling a rejected order: it already ended and nothing is left to undo.
 */
export function cancelOrder(command: CancelOrder, state: Order): OrderEvent[] {
  const order = existing(state, command.orderId);
  if (order.status === 'cancelled' || order.status === 'rejected') return [];
  return [
    { type: 'OrderCancelled', orderId: order.orderId, customerId: order.customerId, reason: command.reason, cancelledAt: command.now },
  ];
}

export function decide(command: OrderCommand, state: Order): OrderEvent[] {
  switch (command.type) {
    case 'PlaceOrder':
      return placeOrder(command, state);
    case 'RequestCancellation':
      return requestCancellation(command, state);
    case 'AuthorizePayment':
      return authorizePayment(command, state);
    case 'VoidPayment':
      return voidPayment(command, state);
    case 'ConfirmOrder':
      return confirmOrder(command, state);
    case 'RejectOrder':
      return rejectOrder(command, state);
    case 'CancelOrder':
      return cancelOrder(command, state);
  }
}

/** The order's decider: its commands decided on the state its stream folds into, read back with its codec. */
export const orderDecider: Decider<OrderCommand, Order, OrderEvent> = { initialState, evolve, decide, codec: orderCodec };
