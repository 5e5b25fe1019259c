import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OrderCancellationRequested,
  OrderConfirmed,
  OrderLinesPriced,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  ReservationCommitted,
  StockReleased,
  StockReserved,
} from '@shop/contracts';
import { deterministicId } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { CoordinatorFixture } from './support';

const eur = (amount: number) => ({ amount, currency: 'EUR' });
const lines = [{ sku: 'SKU-1', quantity: 2 }];
const pricedLines = [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }];
const now = () => new Date().toISOString();

let fx: CoordinatorFixture;

beforeAll(async () => {
  fx = await CoordinatorFixture.start('coordinator_sagas', {
    DEADLINE_PRICING_MS: '10s',
    DEADLINE_RESERVATION_MS: '10s',
    DEADLINE_PAYMENT_MS: '1500ms',
    DEADLINE_CONFIRMATION_MS: '10s',
    DEADLINE_COMPENSATION_MS: '700ms',
    SAGA_MAX_SENDS: '3',
    SAGA_STUCK_AFTER_MS: '60s',
  });
});

afterAll(async () => {
  await fx?.stop();
});

/** Places an order and answers pricing and reservation; returns the pending authorize-payment command. */
async function upToPayment(orderId: string) {
  await fx.publish(OrderPlaced, { orderId, customerId: 'alice', lines, placedAt: now(), channel: 'web' });
  const price = await fx.command(orderId, 'catalog.price-order-lines');
  await fx.publish(OrderLinesPriced, { orderId, lines: pricedLines, total: eur(1000) }, price);
  const reserve = await fx.command(orderId, 'inventory.reserve-stock');
  await fx.publish(StockReserved, { orderId, lines }, reserve);
  return fx.command(orderId, 'order.authorize-payment');
}

describe('coordinator with two instances', () => {
  it('runs the happy path to completed, with deterministic command ids', async () => {
    const orderId = randomUUID();
    const sagaId = `place-order-${orderId}`;
    const authorize = await upToPayment(orderId);
    expect(authorize.data).toEqual({ orderId, amount: eur(1000) });
    expect(fx.commandsFor(orderId, 'catalog.price-order-lines')[0]!.id).toBe(deterministicId(sagaId, 'pricing', 1));
    await fx.publish(PaymentAuthorized, { orderId, authorizationId: 'auth-1', amount: eur(1000) }, authorize);
    const confirm = await fx.command(orderId, 'order.confirm-order');
    expect(confirm.data).toEqual({ orderId, lines: pricedLines, total: eur(1000) });
    await fx.publish(OrderConfirmed, { orderId, customerId: 'alice', lines: pricedLines, total: eur(1000), confirmedAt: now() }, confirm);
    const commit = await fx.command(orderId, 'inventory.commit-reservation');
    await fx.publish(ReservationCommitted, { orderId, lines }, commit);
    await fx.waitStatus(sagaId, 'completed');
    const ended = await fx.sagaEnded(orderId);
    expect(ended.type).toBe('saga.ended');
    expect(ended.data).toMatchObject({ sagaId, sagaType: 'place-order', orderId, outcome: 'completed', compensations: 0 });
    const { startedAt, endedAt, durationMs } = ended.data as { startedAt: string; endedAt: string; durationMs: number };
    expect(durationMs).toBe(Date.parse(endedAt) - Date.parse(startedAt));
    expect(durationMs).toBeGreaterThan(0);
    expect(fx.commandsFor(orderId).map((c) => c.type)).toEqual([
      'catalog.price-order-lines',
      'inventory.reserve-stock',
      'order.authorize-payment',
      'order.confirm-order',
      'inventory.commit-reservation',
    ]);
  });

  it('compensates a declined payment: releases the stock, then rejects with a readable reason', async () => {
    const orderId = randomUUID();
    const authorize = await upToPayment(orderId);
    await fx.publish(PaymentDeclined, { orderId, reason: 'card declined' }, authorize);
    const release = await fx.command(orderId, 'inventory.release-stock');
    expect(fx.commandsFor(orderId, 'order.void-payment')).toEqual([]);
    await fx.publish(StockReleased, { orderId, lines }, release);
    const reject = await fx.command(orderId, 'order.reject-order');
    expect(reject.data).toEqual({ orderId, reason: 'the payment was declined' });
    await fx.publish(OrderRejected, { orderId, customerId: 'alice', reason: 'the payment was declined', rejectedAt: now() }, reject);
    await fx.waitStatus(`place-order-${orderId}`, 'rejected');
    expect((await fx.sagaEnded(orderId)).data).toMatchObject({ outcome: 'rejected', reason: 'the payment was declined', compensations: 1 });
  });

  it('compensates an expired payment deadline once, although two instances poll', async () => {
    const orderId = randomUUID();
    const sagaId = `place-order-${orderId}`;
    await upToPayment(orderId);
    const voidPayment = await fx.command(orderId, 'order.void-payment');
    await fx.publish(PaymentVoided, { orderId }, voidPayment);
    const release = await fx.command(orderId, 'inventory.release-stock');
    await fx.publish(StockReleased, { orderId, lines }, release);
    const reject = await fx.command(orderId, 'order.reject-order');
    expect(reject.data).toEqual({ orderId, reason: 'the payment provider did not answer in time' });
    const events = await fx.sagaEvents(sagaId);
    const expiries = events.filter((e) => e.type === 'InputAccepted' && (e.data as { input: { type: string } }).input.type === 'DeadlineExpired');
    expect(expiries).toHaveLength(1);
    const fired = await fx.db('saga_deadlines').where({ saga_id: sagaId, step: 'authorizing' }).select('status');
    expect(fired).toEqual([{ status: 'fired' }]);
  });

  it('releases a reservation that arrives after its saga ended', async () => {
    const orderId = randomUUID();
    const authorize = await upToPayment(orderId);
    await fx.publish(PaymentDeclined, { orderId, reason: 'card declined' }, authorize);
    const release = await fx.command(orderId, 'inventory.release-stock');
    await fx.publish(StockReleased, { orderId, lines }, release);
    const reject = await fx.command(orderId, 'order.reject-order');
    await fx.publish(OrderRejected, { orderId, customerId: 'alice', reason: 'the payment was declined', rejectedAt: now() }, reject);
    await fx.waitStatus(`place-order-${orderId}`, 'rejected');
    await fx.publish(PaymentAuthorized, { orderId, authorizationId: 'late', amount: eur(1000) }, authorize);
    const lateVoid = await fx.command(orderId, 'order.void-payment');
    expect(lateVoid.data).toEqual({ orderId });
  });

  it('changes nothing on a duplicate reply', async () => {
    const orderId = randomUUID();
    const sagaId = `place-order-${orderId}`;
    await fx.publish(OrderPlaced, { orderId, customerId: 'alice', lines, placedAt: now(), channel: 'web' });
    const price = await fx.command(orderId, 'catalog.price-order-lines');
    const replyId = randomUUID();
    await fx.publish(OrderLinesPriced, { orderId, lines: pricedLines, total: eur(1000) }, price, replyId);
    await fx.publish(OrderLinesPriced, { orderId, lines: pricedLines, total: eur(1000) }, price, replyId);
    await fx.publish(OrderLinesPriced, { orderId, lines: pricedLines, total: eur(1000) }, price);
    const reserve = await fx.command(orderId, 'inventory.reserve-stock');
    await fx.publish(StockReserved, { orderId, lines }, reserve);
    await fx.command(orderId, 'order.authorize-payment');
    expect(fx.commandsFor(orderId, 'inventory.reserve-stock')).toHaveLength(1);
    const accepted = (await fx.sagaEvents(sagaId)).filter(
      (e) => e.type === 'InputAccepted' && (e.data as { input: { type: string } }).input.type === 'OrderLinesPriced',
    );
    expect(accepted).toHaveLength(1);
  });

  it('cancels after confirmation: the cancel-order saga voids, releases and cancels', async () => {
    const orderId = randomUUID();
    const authorize = await upToPayment(orderId);
    await fx.publish(PaymentAuthorized, { orderId, authorizationId: 'auth-1', amount: eur(1000) }, authorize);
    const confirm = await fx.command(orderId, 'order.confirm-order');
    await fx.publish(OrderConfirmed, { orderId, customerId: 'alice', lines: pricedLines, total: eur(1000), confirmedAt: now() }, confirm);
    const commit = await fx.command(orderId, 'inventory.commit-reservation');
    await fx.publish(ReservationCommitted, { orderId, lines }, commit);
    await fx.waitStatus(`place-order-${orderId}`, 'completed');
    await fx.publish(OrderCancellationRequested, { orderId, customerId: 'alice', reason: 'changed my mind', requestedAt: now() });
    const voidPayment = await fx.command(orderId, 'order.void-payment');
    await fx.publish(PaymentVoided, { orderId, authorizationId: 'auth-1' }, voidPayment);
    const release = await fx.command(orderId, 'inventory.release-stock');
    await fx.publish(StockReleased, { orderId, lines }, release);
    const cancel = await fx.command(orderId, 'order.cancel-order');
    expect(cancel.data).toEqual({ orderId, reason: 'changed my mind' });
  });

  it('keeps a pending deadline across a restart of every instance', async () => {
    const orderId = randomUUID();
    await upToPayment(orderId);
    await fx.stopInstances();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(fx.commandsFor(orderId, 'order.void-payment')).toEqual([]);
    await fx.startInstance();
    await fx.startInstance();
    const voidPayment = await fx.command(orderId, 'order.void-payment');
    expect(voidPayment.data).toEqual({ orderId });
  });
});

describe('saga API', () => {
  it('refuses a missing token (401) and a customer (403)', async () => {
    expect((await fx.request('GET', '/v1/sagas')).status).toBe(401);
    const customer = await fx.token('bob', 'customer');
    expect((await fx.request('GET', '/v1/sagas', { token: customer })).status).toBe(403);
    expect((await fx.request('POST', `/v1/sagas/place-order-${randomUUID()}/retry`, { token: customer })).status).toBe(403);
  });

  it('gets a saga with its current step, pending deadline, history and graph', async () => {
    const admin = await fx.token('root', 'admin');
    const orderId = randomUUID();
    await fx.publish(OrderPlaced, { orderId, customerId: 'alice', lines, placedAt: now(), channel: 'web' });
    const price = await fx.command(orderId, 'catalog.price-order-lines');
    await fx.publish(OrderLinesPriced, { orderId, lines: pricedLines, total: eur(1000) }, price);
    await fx.command(orderId, 'inventory.reserve-stock');
    const res = await fx.request('GET', `/v1/sagas/place-order-${orderId}`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('running');
    expect(res.json.currentStep).toBe('reserving');
    expect(res.json.pendingDeadline.step).toBe('reserving');
    expect(res.json.history.map((e: { type: string }) => e.type)).toContain('CommandIssued');
    const marks = Object.fromEntries(res.json.graph.nodes.map((n: { id: string; mark: string }) => [n.id, n.mark]));
    expect(marks).toMatchObject({ pricing: 'done', reserving: 'current', authorizing: 'pending' });
    expect((await fx.request('GET', `/v1/sagas/place-order-${randomUUID()}`, { token: admin })).status).toBe(404);
  });

  it('lists sagas filtered by type and status, paginated', async () => {
    const admin = await fx.token('root', 'admin');
    await waitFor(async () => (await fx.request('GET', '/v1/sagas?status=completed&type=place-order', { token: admin })).json.items.length >= 1);
    const res = await fx.request('GET', '/v1/sagas?status=completed&type=place-order&limit=1', { token: admin });
    expect(res.json.items).toHaveLength(1);
    expect(res.json.items[0]).toMatchObject({ status: 'completed', type: 'place-order' });
    const all = await fx.request('GET', '/v1/sagas?limit=1', { token: admin });
    expect(all.json.nextCursor).toEqual(expect.any(String));
    const next = await fx.request('GET', `/v1/sagas?limit=1&cursor=${all.json.nextCursor}`, { token: admin });
    expect(next.json.items[0].id).not.toBe(all.json.items[0].id);
    const none = await fx.request('GET', '/v1/sagas?olderThan=3600000', { token: admin });
    expect(none.json.items).toEqual([]);
  });

  it('lists a failed saga as stuck, retries it with a new command id, and aborts with compensation', async () => {
    const admin = await fx.token('root', 'admin');
    const orderId = randomUUID();
    const sagaId = `place-order-${orderId}`;
    await upToPayment(orderId);
    // No answer to the void: re-sent with the same id, then failed.
    const first = await fx.command(orderId, 'order.void-payment');
    const second = await fx.command(orderId, 'order.void-payment', 2);
    expect(second.id).toBe(first.id);
    await fx.waitStatus(sagaId, 'failed');
    await waitFor(async () => (await fx.request('GET', '/v1/sagas/stuck', { token: admin })).json.items.some((s: { id: string }) => s.id === sagaId));
    const retried = await fx.request('POST', `/v1/sagas/${sagaId}/retry`, { token: admin });
    expect(retried.status).toBe(202);
    expect(retried.json.status).toBe('compensating');
    const again = await fx.command(orderId, 'order.void-payment', 4);
    expect(again.id).toBe(deterministicId(sagaId, 'voiding', 2));
    expect((await fx.request('POST', `/v1/sagas/${sagaId}/abort`, { token: admin })).status).toBe(409);

    const other = randomUUID();
    await fx.publish(OrderPlaced, { orderId: other, customerId: 'alice', lines, placedAt: now(), channel: 'web' });
    await fx.command(other, 'catalog.price-order-lines');
    const aborted = await fx.request('POST', `/v1/sagas/place-order-${other}/abort`, { token: admin, body: { reason: 'fraud check' } });
    expect(aborted.status).toBe(202);
    const reject = await fx.command(other, 'order.reject-order');
    expect(reject.data).toEqual({ orderId: other, reason: 'aborted by an operator: fraud check' });
  });
});
