import { describe, expect, it } from 'vitest';
import { deterministicId } from '@shop/platform';
import { SagaSpecification } from '@shop/platform/testing';
import { placeOrderDecider } from './place-order';
import { currentStep, pendingDeadline, reasonOf, started, type SagaEvent, type SagaInput, type SagaState } from './saga-state';
import { DEFAULT_DEADLINES, type DecisionContext } from './steps';

const T0 = '2030-01-01T00:00:00.000Z';
const orderId = '11111111-1111-4111-8111-111111111111';
const sagaId = `place-order-${orderId}`;
const ctx: DecisionContext = { sagaId, now: T0, deadlines: DEFAULT_DEADLINES, id: deterministicId };
const saga = SagaSpecification.for({
  initialState: placeOrderDecider.initialState,
  evolve: placeOrderDecider.evolve,
  decide: (input: SagaInput, state: SagaState) => placeOrderDecider.decide({ input, ctx }, state),
  commandsOf: (events: readonly SagaEvent[]) => events.flatMap((e) => (e.type === 'CommandIssued' ? [e.command] : [])),
});
const commandIdsOf = (events: readonly SagaEvent[]) => events.flatMap((e) => (e.type === 'CommandIssued' ? [e.commandId] : []));
const deadlinesOf = (events: readonly SagaEvent[]) => events.flatMap((e) => (e.type === 'DeadlineScheduled' ? [e] : []));
/** The deadline input for the saga's pending deadline. */
const expire = (s: SagaState): SagaInput => ({ type: 'DeadlineExpired', deadlineId: pendingDeadline(s)!.id });
/** A reply to the current step's command, with its causation id. */
const reply =
  (input: Extract<SagaInput, { causationId?: string }>) =>
  (s: SagaState): SagaInput => ({ ...input, causationId: currentStep(s)?.commandId });
const eur = (amount: number) => ({ amount, currency: 'EUR' });

const placed: SagaInput = { type: 'OrderPlaced', orderId, customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 2 }] };
const priced = reply({
  type: 'OrderLinesPriced',
  lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }],
  total: eur(1000),
});
const reserved = reply({ type: 'StockReserved' });
const authorized = reply({ type: 'PaymentAuthorized', authorizationId: 'auth-1', amount: eur(1000) });
const confirmed = reply({ type: 'OrderConfirmed' });
const voided = reply({ type: 'PaymentVoided' });
const released = reply({ type: 'StockReleased' });
const cancellation: SagaInput = { type: 'CancellationRequested', orderId, customerId: 'alice', reason: 'changed my mind' };

describe('place-order saga', () => {
  describe('the happy path', () => {
    it('prices the lines when the order is placed, with a deterministic command id and a deadline', () => {
      const then = saga.given([]).when(placed);
      expect(then.commands).toEqual([{ type: 'catalog.price-order-lines', data: { orderId, lines: placed.lines } }]);
      expect(commandIdsOf(then.events)).toEqual([deterministicId(sagaId, 'pricing', 1)]);
      expect(deadlinesOf(then.events).map((d) => d.dueAt)).toEqual([new Date(Date.parse(T0) + DEFAULT_DEADLINES.pricingMs).toISOString()]);
    });

    it('reserves the stock once priced', () => {
      expect(saga.given([placed]).when(priced).commands).toEqual([{ type: 'inventory.reserve-stock', data: { orderId, lines: placed.lines } }]);
    });

    it('authorizes the priced total once reserved', () => {
      expect(saga.given([placed, priced]).when(reserved).commands).toEqual([{ type: 'order.authorize-payment', data: { orderId, amount: eur(1000) } }]);
    });

    it('confirms at the priced lines once authorized', () => {
      const then = saga.given([placed, priced, reserved]).when(authorized);
      expect(then.commands).toEqual([
        {
          type: 'order.confirm-order',
          data: { orderId, lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }], total: eur(1000) },
        },
      ]);
    });

    it('commits the reservation once the order is confirmed', () => {
      expect(saga.given([placed, priced, reserved, authorized]).when(confirmed).commands).toEqual([
        { type: 'inventory.commit-reservation', data: { orderId } },
      ]);
    });

    it('completes once the reservation is committed, issuing nothing more', () => {
      const then = saga.given([placed, priced, reserved, authorized, confirmed]).when(reply({ type: 'ReservationCommitted' }));
      expect(then.commands).toEqual([]);
      expect(then.state.status).toBe('completed');
      expect(pendingDeadline(then.state)).toBeUndefined();
    });

    it('ends with its start time and no compensation, for the published saga.ended', () => {
      const then = saga.given([placed, priced, reserved, authorized, confirmed]).when(reply({ type: 'ReservationCommitted' }));
      expect(then.events.at(-1)).toEqual({ type: 'SagaEnded', status: 'completed', endedAt: T0, startedAt: T0, compensations: 0 });
    });
  });

  describe('when pricing is rejected', () => {
    it('rejects the order at once, naming the unknown SKU', () => {
      const then = saga
        .given([placed])
        .when(reply({ type: 'OrderLinesPricingRejected', unknownSkus: ['SKU-9'], discontinuedSkus: [], reason: 'unknown SKU-9' }));
      expect(then.commands).toEqual([{ type: 'order.reject-order', data: { orderId, reason: 'unknown product SKU-9' } }]);
    });

    it('ends rejected when the order service rejected it', () => {
      const given = saga.given([placed, reply({ type: 'OrderLinesPricingRejected', unknownSkus: ['SKU-9'], discontinuedSkus: [], reason: 'x' })]);
      const then = given.when(reply({ type: 'OrderRejected', reason: 'unknown product SKU-9' }));
      expect(then.commands).toEqual([]);
      expect(then.state.status).toBe('rejected');
      expect(reasonOf(then.state)).toBe('unknown product SKU-9');
    });
  });

  describe('when stock is short', () => {
    it('ends rejected with no compensation (nothing was held)', () => {
      const end = saga
        .given([placed, priced, reply({ type: 'StockReservationFailed', shortages: [{ sku: 'SKU-1', requested: 2, available: 0 }] })])
        .when(reply({ type: 'OrderRejected', reason: 'SKU-1 is out of stock' }));
      expect(end.events.at(-1)).toMatchObject({ type: 'SagaEnded', status: 'rejected', compensations: 0 });
    });

    it('rejects the order, nothing to release', () => {
      const then = saga
        .given([placed, priced])
        .when(reply({ type: 'StockReservationFailed', shortages: [{ sku: 'SKU-1', requested: 2, available: 0 }] }));
      expect(then.commands).toEqual([{ type: 'order.reject-order', data: { orderId, reason: 'SKU-1 is out of stock' } }]);
    });
  });

  describe('when the payment is declined', () => {
    it('releases the stock, then rejects the order', () => {
      const given = saga.given([placed, priced, reserved]);
      const declined = given.when(reply({ type: 'PaymentDeclined', reason: 'card declined' }));
      expect(declined.commands).toEqual([{ type: 'inventory.release-stock', data: { orderId, reason: 'the payment was declined' } }]);
      const after = saga.given([placed, priced, reserved, reply({ type: 'PaymentDeclined', reason: 'card declined' })]).when(released);
      expect(after.commands).toEqual([{ type: 'order.reject-order', data: { orderId, reason: 'the payment was declined' } }]);
    });

    it('counts the release as one compensation when it ends rejected', () => {
      const end = saga
        .given([placed, priced, reserved, reply({ type: 'PaymentDeclined', reason: 'card declined' }), released])
        .when(reply({ type: 'OrderRejected', reason: 'the payment was declined' }));
      expect(end.events.at(-1)).toMatchObject({ type: 'SagaEnded', status: 'rejected', compensations: 1 });
    });
  });

  describe('when a deadline expires', () => {
    it('pricing: rejects the order', () => {
      expect(saga.given([placed]).when(expire).commands).toEqual([
        { type: 'order.reject-order', data: { orderId, reason: 'the catalog did not answer in time' } },
      ]);
    });

    it('reservation: releases whatever may have been reserved, then rejects', () => {
      expect(saga.given([placed, priced]).when(expire).commands).toEqual([
        { type: 'inventory.release-stock', data: { orderId, reason: 'the stock check did not answer in time' } },
      ]);
      expect(saga.given([placed, priced, expire]).when(released).commands).toEqual([
        { type: 'order.reject-order', data: { orderId, reason: 'the stock check did not answer in time' } },
      ]);
    });

    it('payment: voids the payment (it might still land), then releases the stock, then rejects', () => {
      const reason = 'the payment provider did not answer in time';
      expect(saga.given([placed, priced, reserved]).when(expire).commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
      expect(saga.given([placed, priced, reserved, expire]).when(voided).commands).toEqual([
        { type: 'inventory.release-stock', data: { orderId, reason } },
      ]);
      expect(saga.given([placed, priced, reserved, expire, voided]).when(released).commands).toEqual([
        { type: 'order.reject-order', data: { orderId, reason } },
      ]);
    });

    it('confirmation: re-sends the same command (same id) with a doubled deadline, never compensates', () => {
      const given = saga.given([placed, priced, reserved, authorized]);
      const then = given.when(expire);
      expect(then.commands).toEqual([currentStep(given.state)?.command]);
      expect(commandIdsOf(then.events)).toEqual([currentStep(given.state)?.commandId]);
      expect(Date.parse(deadlinesOf(then.events)[0]!.dueAt) - Date.parse(T0)).toBe(2 * DEFAULT_DEADLINES.confirmationMs);
    });

    it('a compensation step: re-sends a bounded number of times, then fails for an operator', () => {
      const given = saga.given([placed, priced, reserved, expire, expire, expire, expire]);
      expect(currentStep(given.state)?.sends).toBe(DEFAULT_DEADLINES.maxSends);
      const then = given.when(expire);
      expect(then.commands).toEqual([]);
      expect(then.state.status).toBe('failed');
      expect(reasonOf(then.state)).toBe('no answer to order.void-payment after 4 attempts');
    });

    it('ignores a deadline of a step already passed', () => {
      const given = saga.given([placed]);
      const pricingDeadline = pendingDeadline(given.state)!.id;
      const then = saga.given([placed, priced]).when({ type: 'DeadlineExpired', deadlineId: pricingDeadline });
      expect(then.events).toEqual([]);
    });

    it('ignores a deadline of a finished saga', () => {
      const given = saga.given([placed, reply({ type: 'OrderLinesPricingRejected', unknownSkus: ['SKU-9'], discontinuedSkus: [], reason: 'x' })]);
      const deadline = pendingDeadline(given.state)!.id;
      const ended = saga.given([placed, reply({ type: 'OrderLinesPricingRejected', unknownSkus: ['SKU-9'], discontinuedSkus: [], reason: 'x' }), reply({ type: 'OrderRejected', reason: 'x' })]);
      expect(ended.when({ type: 'DeadlineExpired', deadlineId: deadline }).events).toEqual([]);
    });
  });

  describe('a reply after its deadline', () => {
    it('stock reserved late, once the saga ended: releases it', () => {
      const then = saga.given([placed, priced, expire, released, reply({ type: 'OrderRejected', reason: 'x' })]).when({ type: 'StockReserved' });
      expect(then.commands).toEqual([{ type: 'inventory.release-stock', data: { orderId, reason: 'the stock check did not answer in time' } }]);
      expect(then.state.status).toBe('rejected');
    });

    it('stock reserved late while the release is under way: nothing more (the release covers it)', () => {
      expect(saga.given([placed, priced, expire]).when({ type: 'StockReserved' }).events).toEqual([]);
    });

    it('payment authorized late, after the void: voids it again', () => {
      const then = saga.given([placed, priced, reserved, expire, voided]).when({ type: 'PaymentAuthorized', authorizationId: 'a', amount: eur(1000) });
      expect(then.commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
    });

    it('payment authorized late while the void is under way: nothing more', () => {
      expect(saga.given([placed, priced, reserved, expire]).when({ type: 'PaymentAuthorized', authorizationId: 'a', amount: eur(1000) }).events).toEqual([]);
    });
  });

  describe('duplicate replies', () => {
    it('a second stock-reserved changes nothing', () => {
      expect(saga.given([placed, priced, reserved]).when(reserved).events).toEqual([]);
    });

    it('a second order-lines-priced changes nothing', () => {
      expect(saga.given([placed, priced, reserved, authorized]).when(priced).events).toEqual([]);
    });

    it('a second order.placed changes nothing', () => {
      expect(saga.given([placed]).when(placed).events).toEqual([]);
    });

    it('a reply to another command (wrong causation) is not taken as this step’s answer', () => {
      expect(saga.given([placed, priced]).when({ type: 'StockReserved', causationId: 'someone-else' }).events).toEqual([]);
    });
  });

  describe('cancel during a running saga', () => {
    it('while pricing: stops and cancels the order', () => {
      expect(saga.given([placed]).when(cancellation).commands).toEqual([{ type: 'order.cancel-order', data: { orderId, reason: 'changed my mind' } }]);
    });

    it('while authorizing: voids, releases, then cancels (never confirms)', () => {
      const then = saga.given([placed, priced, reserved]).when(cancellation);
      expect(then.commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
      expect(saga.given([placed, priced, reserved, cancellation]).when(authorized).events).toEqual([]);
      const end = saga.given([placed, priced, reserved, cancellation, voided, released]).when(reply({ type: 'OrderCancelled', reason: 'changed my mind' }));
      expect(end.state.status).toBe('cancelled');
    });

    it('past the pivot (confirming): records it and goes on to complete', () => {
      const then = saga.given([placed, priced, reserved, authorized]).when(cancellation);
      expect(then.commands).toEqual([]);
      expect(started(then.state)?.cancelRequested).toBe(true);
      expect(saga.given([placed, priced, reserved, authorized, cancellation]).when(confirmed).commands).toEqual([
        { type: 'inventory.commit-reservation', data: { orderId } },
      ]);
    });
  });

  describe('operator controls', () => {
    it('retry re-issues the current step with a new attempt id', () => {
      const given = saga.given([placed, priced, reserved, expire, expire, expire, expire, expire]);
      expect(given.state.status).toBe('failed');
      const then = given.when({ type: 'RetryRequested', by: 'admin' });
      expect(then.commands).toEqual([{ type: 'order.void-payment', data: { orderId } }]);
      expect(commandIdsOf(then.events)).toEqual([deterministicId(sagaId, 'voiding', 2)]);
      expect(then.state.status).toBe('compensating');
    });

    it('abort compensates what succeeded and rejects', () => {
      expect(saga.given([placed, priced, reserved]).when({ type: 'AbortRequested', by: 'admin', reason: 'fraud' }).commands).toEqual([
        { type: 'order.void-payment', data: { orderId } },
      ]);
    });

    it('abort past the pivot is refused', () => {
      expect(() => saga.given([placed, priced, reserved, authorized]).when({ type: 'AbortRequested', by: 'admin' })).toThrow(/cancel the order/);
    });

    it('retry of a completed saga is refused', () => {
      const done = saga.given([placed, priced, reserved, authorized, confirmed, reply({ type: 'ReservationCommitted' })]);
      expect(() => done.when({ type: 'RetryRequested', by: 'admin' })).toThrow(/already ended/);
    });
  });
});
