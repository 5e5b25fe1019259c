import { describe, expect, it } from 'vitest';
import { ConcurrencyError, ConflictError, NotFoundError, UnprocessableError } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import {
  authorizationToVoid,
  orderDecider,
  paymentToAuthorize,
  type AuthorizePayment,
  type CancelOrder,
  type ConfirmOrder,
  type PlaceOrder,
  type RejectOrder,
  type RequestCancellation,
  type VoidPayment,
} from './decide';
import type { OrderEvent } from './order';

const orderId = '3f1c2a9e-8d4b-4f6a-9c2e-1b7d5e3a9f10';
const customerId = 'customer-ann';
const now = '2025-01-02T10:00:00.000Z';
const earlier = '2025-01-02T09:00:00.000Z';
const eur = (amount: number) => ({ amount, currency: 'EUR' });
const lines = [
  { sku: 'SKU-1', quantity: 2 },
  { sku: 'SKU-2', quantity: 1 },
];
const pricedLines = [
  { sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) },
  { sku: 'SKU-2', quantity: 1, unitPrice: eur(500), lineTotal: eur(500) },
];
const total = eur(2500);

const placed: OrderEvent = { type: 'OrderPlaced', orderId, customerId, lines, paymentToken: 'tok_approve', channel: 'mobile', placedAt: earlier };
const authorized: OrderEvent = { type: 'PaymentAuthorized', orderId, authorizationId: 'auth-1', amount: total, authorizedAt: earlier };
const declined: OrderEvent = { type: 'PaymentDeclined', orderId, reason: 'card declined', declinedAt: earlier };
const timedOut: OrderEvent = { type: 'PaymentAuthorizationTimedOut', orderId, at: earlier };
const voided: OrderEvent = { type: 'PaymentVoided', orderId, authorizationId: 'auth-1', voidedAt: earlier };
const confirmed: OrderEvent = { type: 'OrderConfirmed', orderId, customerId, lines: pricedLines, total, confirmedAt: earlier };
const rejected: OrderEvent = { type: 'OrderRejected', orderId, customerId, reason: 'out of stock', rejectedAt: earlier };
const cancellationRequested: OrderEvent = {
  type: 'OrderCancellationRequested',
  orderId,
  customerId,
  requestedBy: customerId,
  requestedAt: earlier,
};
const cancelled: OrderEvent = { type: 'OrderCancelled', orderId, customerId, reason: 'customer asked', cancelledAt: earlier };

const place: PlaceOrder = { type: 'PlaceOrder', orderId, customerId, lines, paymentToken: 'tok_approve', channel: 'mobile', now };
const requestByOwner: RequestCancellation = {
  type: 'RequestCancellation',
  orderId,
  requestedBy: { subject: customerId, admin: false },
  reason: 'changed my mind',
  now,
};
const requestByAdmin: RequestCancellation = { ...requestByOwner, requestedBy: { subject: 'admin-zoe', admin: true }, reason: undefined };
const requestByStranger: RequestCancellation = { ...requestByOwner, requestedBy: { subject: 'customer-bob', admin: false } };
const authorize = (answer?: AuthorizePayment['answer']): AuthorizePayment => ({
  type: 'AuthorizePayment',
  orderId,
  amount: total,
  ...(answer ? { answer } : {}),
  now,
});
const approved = authorize({ outcome: 'approved', authorizationId: 'auth-1' });
const refused = authorize({ outcome: 'declined', reason: 'insufficient funds' });
const noAnswer = authorize({ outcome: 'timed-out' });
const voidNothing: VoidPayment = { type: 'VoidPayment', orderId, now };
const voidAuth1: VoidPayment = { type: 'VoidPayment', orderId, voidedAuthorizationId: 'auth-1', now };
const confirm: ConfirmOrder = { type: 'ConfirmOrder', orderId, lines: pricedLines, total, now };
const reject: RejectOrder = { type: 'RejectOrder', orderId, reason: 'payment declined', now };
const cancel: CancelOrder = { type: 'CancelOrder', orderId, reason: 'customer asked', now };

const spec = DeciderSpecification.for(orderDecider);

const orderPlaced: OrderEvent[] = [
  { type: 'OrderPlaced', orderId, customerId, lines, paymentToken: 'tok_approve', channel: 'mobile', placedAt: now },
];
const cancellationRequestedBy = (subject: string, reason?: string): OrderEvent[] => [
  { type: 'OrderCancellationRequested', orderId, customerId, requestedBy: subject, ...(reason ? { reason } : {}), requestedAt: now },
];
const paymentAuthorized: OrderEvent[] = [
  { type: 'PaymentAuthorized', orderId, authorizationId: 'auth-1', amount: total, authorizedAt: now },
];
const paymentDeclined: OrderEvent[] = [{ type: 'PaymentDeclined', orderId, reason: 'insufficient funds', declinedAt: now }];
const paymentTimedOut: OrderEvent[] = [{ type: 'PaymentAuthorizationTimedOut', orderId, at: now }];
const voidedAuth1: OrderEvent[] = [{ type: 'PaymentVoided', orderId, authorizationId: 'auth-1', voidedAt: now }];
const voidedNothing: OrderEvent[] = [{ type: 'PaymentVoided', orderId, voidedAt: now }];
const orderConfirmed: OrderEvent[] = [{ type: 'OrderConfirmed', orderId, customerId, lines: pricedLines, total, confirmedAt: now }];
const orderRejected: OrderEvent[] = [{ type: 'OrderRejected', orderId, customerId, reason: 'payment declined', rejectedAt: now }];
const orderCancelled: OrderEvent[] = [{ type: 'OrderCancelled', orderId, customerId, reason: 'customer asked', cancelledAt: now }];
const declinedBecause = (status: string): OrderEvent[] => [
  { type: 'PaymentDeclined', orderId, reason: `order is ${status}: no payment was taken`, declinedAt: now },
];

describe('order decisions', () => {
  describe('when there is no order', () => {
    it('places the order as pending', () => spec.given([]).when(place).then(orderPlaced));
    it('finds nothing to cancel', () => spec.given([]).when(requestByOwner).thenThrows(NotFoundError));
    it('finds nothing to authorize', () => spec.given([]).when(approved).thenThrows(NotFoundError));
    it('finds nothing to void', () => spec.given([]).when(voidNothing).thenThrows(NotFoundError));
    it('finds nothing to confirm', () => spec.given([]).when(confirm).thenThrows(NotFoundError));
    it('finds nothing to reject', () => spec.given([]).when(reject).thenThrows(NotFoundError));
    it('finds nothing to cancel on the coordinator’s command', () => spec.given([]).when(cancel).thenThrows(NotFoundError));
    it('does not ask the provider', () => expect(paymentToAuthorize(spec.given([]).state)).toBeUndefined());
  });

  describe('when the order is pending', () => {
    const pending = [placed];
    it('decides nothing for the same PlaceOrder again (a retried request)', () => spec.given(pending).when(place).thenNothing());
    it('refuses a different PlaceOrder for the same order id', () =>
      spec.given(pending).when({ ...place, lines: [{ sku: 'SKU-9', quantity: 1 }] }).thenThrows(UnprocessableError));
    it('records the owner’s cancellation request with its reason', () =>
      spec.given(pending).when(requestByOwner).then(cancellationRequestedBy(customerId, 'changed my mind')));
    it('records an admin’s cancellation request', () =>
      spec.given(pending).when(requestByAdmin).then(cancellationRequestedBy('admin-zoe')));
    it('hides the order from another customer who asks to cancel it', () =>
      spec.given(pending).when(requestByStranger).thenThrows(NotFoundError));

    it('asks the provider with the order’s payment token', () => expect(paymentToAuthorize(spec.given(pending).state)).toBe('tok_approve'));
    it('records an approved authorization with the amount', () => spec.given(pending).when(approved).then(paymentAuthorized));
    it('records a declined payment with the provider’s reason', () => spec.given(pending).when(refused).then(paymentDeclined));
    it('records that the provider did not answer', () => spec.given(pending).when(noAnswer).then(paymentTimedOut));
    it('needs the provider’s answer before deciding (retriable)', () =>
      spec.given(pending).when(authorize()).thenThrows(ConcurrencyError));

    it('voids nothing, and says so, when there is no authorization', () => spec.given(pending).when(voidNothing).then(voidedNothing));
    it('refuses to confirm before the payment is authorized', () =>
      spec.given(pending).when(confirm).thenThrows(ConflictError, /payment is none/));
    it('rejects the order with the reason', () => spec.given(pending).when(reject).then(orderRejected));
    it('cancels the order on the coordinator’s command', () => spec.given(pending).when(cancel).then(orderCancelled));
  });

  describe('when the order is pending and its payment is authorized', () => {
    const paid = [placed, authorized];
    it('decides nothing for AuthorizePayment again, and does not ask the provider', () => {
      spec.given(paid).when(approved).thenNothing();
      expect(paymentToAuthorize(spec.given(paid).state)).toBeUndefined();
    });
    it('names the authorization to void', () => expect(authorizationToVoid(spec.given(paid).state)).toBe('auth-1'));
    it('records the void of that authorization', () => spec.given(paid).when(voidAuth1).then(voidedAuth1));
    it('refuses to record a void the provider was not asked for (retriable)', () =>
      spec.given(paid).when(voidNothing).thenThrows(ConcurrencyError));
    it('confirms the order at the prices and total', () => spec.given(paid).when(confirm).then(orderConfirmed));
    it('refuses to confirm a total other than the authorized amount', () =>
      spec.given(paid).when({ ...confirm, total: eur(2600) }).thenThrows(ConflictError, /authorized amount/));
    it('rejects the order (the coordinator voids the payment)', () => spec.given(paid).when(reject).then(orderRejected));
  });

  describe('when the order is pending and its payment was declined', () => {
    const refusedPayment = [placed, declined];
    it('decides nothing for AuthorizePayment again (the reply went out)', () => {
      spec.given(refusedPayment).when(approved).thenNothing();
      expect(paymentToAuthorize(spec.given(refusedPayment).state)).toBeUndefined();
    });
    it('voids nothing, and says so', () => spec.given(refusedPayment).when(voidNothing).then(voidedNothing));
    it('refuses to confirm', () => spec.given(refusedPayment).when(confirm).thenThrows(ConflictError, /declined/));
  });

  describe('when the order is pending and the provider did not answer', () => {
    const silent = [placed, timedOut];
    it('asks the provider again (same idempotency key) on a new AuthorizePayment', () =>
      expect(paymentToAuthorize(spec.given(silent).state)).toBe('tok_approve'));
    it('records a late approval', () => spec.given(silent).when(approved).then(paymentAuthorized));
    it('records a second silence only once', () => spec.given(silent).when(noAnswer).thenNothing());
    it('voids nothing, and says so', () => spec.given(silent).when(voidNothing).then(voidedNothing));
  });

  describe('when the order is pending and its payment was voided', () => {
    const voidedPayment = [placed, authorized, voided];
    it('never authorizes again', () => {
      spec.given(voidedPayment).when(approved).thenNothing();
      expect(paymentToAuthorize(spec.given(voidedPayment).state)).toBeUndefined();
    });
    it('decides nothing for VoidPayment again', () => {
      spec.given(voidedPayment).when(voidNothing).thenNothing();
      expect(authorizationToVoid(spec.given(voidedPayment).state)).toBeUndefined();
    });
    it('refuses to confirm', () => spec.given(voidedPayment).when(confirm).thenThrows(ConflictError, /voided/));
  });

  describe('when the order is confirmed', () => {
    const done = [placed, authorized, confirmed];
    it('decides nothing for ConfirmOrder again', () => spec.given(done).when(confirm).thenNothing());
    it('refuses to reject it', () => spec.given(done).when(reject).thenThrows(ConflictError, /confirmed/));
    it('records the owner’s cancellation request', () => spec.given(done).when(requestByOwner).then(cancellationRequestedBy(customerId, 'changed my mind')));
    it('hides it from another customer', () => spec.given(done).when(requestByStranger).thenThrows(NotFoundError));
    it('decides nothing for AuthorizePayment (already authorized)', () => spec.given(done).when(approved).thenNothing());
    it('refuses to void its payment without a cancellation request', () => {
      expect(authorizationToVoid(spec.given(done).state)).toBeUndefined();
      spec.given(done).when(voidAuth1).thenThrows(ConflictError, /cancellation request/);
    });
    it('cancels it on the coordinator’s command', () => spec.given(done).when(cancel).then(orderCancelled));
    it('decides nothing for the same PlaceOrder again', () => spec.given(done).when(place).thenNothing());
  });

  describe('when the order is rejected', () => {
    const over = [placed, declined, rejected];
    const overUnpaid = [placed, rejected];
    it('decides nothing for RejectOrder again', () => spec.given(over).when(reject).thenNothing());
    it('refuses to confirm it', () => spec.given(over).when(confirm).thenThrows(ConflictError, /rejected/));
    it('refuses a cancellation request', () => spec.given(over).when(requestByOwner).thenThrows(ConflictError, /rejected/));
    it('decides nothing for CancelOrder (it already ended)', () => spec.given(over).when(cancel).thenNothing());
    it('declines a payment without asking the provider', () => {
      expect(paymentToAuthorize(spec.given(overUnpaid).state)).toBeUndefined();
      spec.given(overUnpaid).when(authorize()).then(declinedBecause('rejected'));
    });
    it('records what the provider did if it was asked before the rejection', () =>
      spec.given(overUnpaid).when(approved).then(paymentAuthorized));
    it('voids a late authorization', () => {
      expect(authorizationToVoid(spec.given([...overUnpaid, authorized]).state)).toBe('auth-1');
      spec.given([...overUnpaid, authorized]).when(voidAuth1).then(voidedAuth1);
    });
    it('voids nothing, and says so, when there is no authorization', () => spec.given(over).when(voidNothing).then(voidedNothing));
  });

  describe('when the order’s cancellation is requested while it is pending', () => {
    const asked = [placed, cancellationRequested];
    it('refuses a second request', () => spec.given(asked).when(requestByOwner).thenThrows(ConflictError, /cancellation-requested/));
    it('still authorizes the payment for the saga in flight', () => {
      expect(paymentToAuthorize(spec.given(asked).state)).toBe('tok_approve');
      spec.given(asked).when(approved).then(paymentAuthorized);
    });
    it('voids the authorization', () => spec.given([...asked, authorized]).when(voidAuth1).then(voidedAuth1));
    it('records a confirmation and keeps the request standing', () => {
      spec.given([...asked, authorized]).when(confirm).then(orderConfirmed);
      expect(spec.given([...asked, authorized, confirmed]).state.status).toBe('cancellation-requested');
    });
    it('rejects it when the place-order saga fails', () => spec.given(asked).when(reject).then(orderRejected));
    it('cancels it', () => spec.given(asked).when(cancel).then(orderCancelled));
  });

  describe('when the order’s cancellation is requested after it was confirmed', () => {
    const asked = [placed, authorized, confirmed, cancellationRequested];
    it('decides nothing for ConfirmOrder again', () => spec.given(asked).when(confirm).thenNothing());
    it('refuses to reject it', () => spec.given(asked).when(reject).thenThrows(ConflictError, /confirmed/));
    it('voids the authorization for the cancel saga', () => {
      expect(authorizationToVoid(spec.given(asked).state)).toBe('auth-1');
      spec.given(asked).when(voidAuth1).then(voidedAuth1);
    });
    it('decides nothing for AuthorizePayment', () => spec.given(asked).when(approved).thenNothing());
    it('cancels it', () => spec.given(asked).when(cancel).then(orderCancelled));
  });

  describe('when the order is cancelled', () => {
    const over = [placed, authorized, confirmed, cancellationRequested, voided, cancelled];
    it('decides nothing for CancelOrder again', () => spec.given(over).when(cancel).thenNothing());
    it('refuses a cancellation request', () => spec.given(over).when(requestByAdmin).thenThrows(ConflictError, /cancelled/));
    it('refuses to confirm it', () => spec.given(over).when(confirm).thenThrows(ConflictError, /cancelled/));
    it('decides nothing for RejectOrder (it already ended)', () => spec.given(over).when(reject).thenNothing());
    it('decides nothing for VoidPayment again', () => spec.given(over).when(voidNothing).thenNothing());
    it('declines a payment without asking the provider when none was taken', () => {
      const unpaid = [placed, cancellationRequested, cancelled];
      expect(paymentToAuthorize(spec.given(unpaid).state)).toBeUndefined();
      spec.given(unpaid).when(authorize()).then(declinedBecause('cancelled'));
    });
  });
});
