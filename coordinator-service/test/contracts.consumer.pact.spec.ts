import { randomUUID } from 'node:crypto';
import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderLinesPriced,
  OrderLinesPricingRejected,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  ReservationCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
  buildMessage,
  publishedJsonSchemas,
  type MessageData,
  type MessageDefinition,
} from '@shop/contracts';
import type { ConsumedMessage, MessageProcessor, OutgoingMessage } from '@shop/platform';
import { startServiceForTest, type ServiceUnderTest } from '@shop/platform/testing';
import { clearConsumerPacts, expectMessage, handleOnce } from '@shop/platform/testing/pacts';
import { asConsumed } from '@shop/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinatorService } from '../src/composition';
import { currentStep, sagaCodec, sagaId, sagaStreamId, type SagaType } from '../src/sagas/saga-state';
import type { Sagas } from '../src/sagas/sagas';
import { DEFAULT_DEADLINES } from '../src/sagas/steps';
import { coordinatorProcess } from './support';

const CONSUMER = 'coordinator-service';
/** The JSON Schema of every version the coordinator reads, `<type>@v<version>` (order.placed v1 as well as v2). */
const schemas = publishedJsonSchemas([
  OrderPlaced,
  OrderLinesPriced,
  OrderLinesPricingRejected,
  StockReserved,
  StockReservationFailed,
  StockReleased,
  ReservationCommitted,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  OrderConfirmed,
  OrderRejected,
  OrderCancellationRequested,
  OrderCancelled,
]);

/** Every step waits an hour: no deadline expires while a test runs. */
const HOUR = 3_600_000;
const DEADLINES = { ...DEFAULT_DEADLINES, pricingMs: HOUR, reservationMs: HOUR, paymentMs: HOUR, confirmationMs: HOUR, compensationMs: HOUR };

const eur = (amount: number) => ({ amount, currency: 'EUR' });
const now = () => new Date().toISOString();

/** One order and what its participants say about it (fresh ids per test). */
function anOrder() {
  const orderId = randomUUID();
  const customerId = 'alice';
  const sku = `T-${randomUUID().slice(0, 8).toUpperCase()}`;
  const lines = [{ sku, quantity: 2 }];
  const pricedLines = [{ sku, quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }];
  const total = eur(1000);
  return {
    orderId,
    sku,
    lines,
    pricedLines,
    total,
    placed: { orderId, customerId, lines, placedAt: now(), channel: 'web' as const },
    priced: { orderId, lines: pricedLines, total },
    pricingRejected: { orderId, unknownSkus: [], discontinuedSkus: [sku], reason: `${sku} is discontinued` },
    reserved: { orderId, lines },
    reservationFailed: { orderId, shortages: [{ sku, requested: 2, available: 0 }] },
    released: { orderId, lines },
    committed: { orderId, lines },
    authorized: { orderId, authorizationId: `auth-${orderId}`, amount: total },
    declined: { orderId, reason: 'insufficient funds' },
    voided: { orderId },
    confirmed: { orderId, customerId, lines: pricedLines, total, confirmedAt: now() },
    rejected: { orderId, customerId, reason: `${sku} is no longer sold`, rejectedAt: now() },
    cancellationRequested: { orderId, customerId, requestedAt: now() },
    cancelled: { orderId, customerId, reason: "cancelled at the customer's request", cancelledAt: now() },
  };
}
type Order = ReturnType<typeof anOrder>;

/**
 * The participants' facts and replies the coordinator consumes, as pacts
 * with their producers: each example goes through the coordinator's real
 * message path (decode, inbox, participant-event handlers, sagas, commit) on
 * a real database, with the saga first brought to the step the message
 * answers, and must move the saga on (a command issued, or its end).
 *
 * A reply names the command it answers as its causation (`ce_causationid`),
 * and the examples are built so. The pact keeps no causation header yet, so
 * what Pact hands the handler has none, and the sagas take such a reply as
 * the answer to their current step; the scene set before each example makes
 * that step the right one.
 */
describe('coordinator-service as a consumer (Pact)', () => {
  let running: ServiceUnderTest;
  let sagas: Sagas;
  let processor: MessageProcessor;

  beforeAll(async () => {
    clearConsumerPacts(CONSUMER);
    running = await startServiceForTest(coordinatorService, { label: 'coordinator_pacts' });
    ({ sagas, processor } = coordinatorProcess(running.store, DEADLINES));
  });
  afterAll(async () => {
    await running?.stop();
  });

  const handledOnce = (message: ConsumedMessage) => handleOnce(processor, message);

  /**
   * The participant's message (at `version`, an older one its producer may still publish, else the current one);
   * a reply (`answering` a saga) names the command the saga waits on as its causation.
   */
  const messageOf = async <D extends MessageDefinition>(definition: D, data: MessageData<D>, answering?: { saga: SagaType; orderId: string }, version = definition.version) => {
    const causationId = answering && currentStep((await sagas.load(sagaId(answering.saga, answering.orderId))).state)?.commandId;
    const meta = { id: randomUUID(), source: definition.producer, correlationId: randomUUID(), time: now(), ...(causationId ? { causationId } : {}) };
    return buildMessage(definition, data, meta, { version });
  };

  type Scene = (o: Order) => Promise<OutgoingMessage>;
  const to = (o: Order, saga: SagaType = 'place-order') => ({ saga, orderId: o.orderId });
  const placed: Scene = (o) => messageOf(OrderPlaced, o.placed);
  const priced: Scene = (o) => messageOf(OrderLinesPriced, o.priced, to(o));
  const pricingRejected: Scene = (o) => messageOf(OrderLinesPricingRejected, o.pricingRejected, to(o));
  const reserved: Scene = (o) => messageOf(StockReserved, o.reserved, to(o));
  const authorized: Scene = (o) => messageOf(PaymentAuthorized, o.authorized, to(o));
  const declined: Scene = (o) => messageOf(PaymentDeclined, o.declined, to(o));
  const confirmed: Scene = (o) => messageOf(OrderConfirmed, o.confirmed, to(o));
  const committed: Scene = (o) => messageOf(ReservationCommitted, o.committed, to(o));
  const cancellationRequested: Scene = (o) => messageOf(OrderCancellationRequested, o.cancellationRequested);
  const voided: Scene = (o) => messageOf(PaymentVoided, o.voided, to(o, 'cancel-order'));
  const released: Scene = (o) => messageOf(StockReleased, o.released, to(o, 'cancel-order'));
  /** The place-order saga of a confirmed order, run to its end. */
  const completedOrder = [placed, priced, reserved, authorized, confirmed, committed];

  /** Sets the scene: the participants' messages, each handled by the coordinator in turn. */
  const given = async (o: Order, scenes: readonly Scene[]) => {
    for (const scene of scenes) {
      const m = await scene(o);
      await handledOnce(asConsumed(m));
    }
  };

  const sagaEvents = async (saga: SagaType, orderId: string) => (await running.store.readStream(sagaStreamId(sagaId(saga, orderId)))).map((e) => sagaCodec.decode(e));
  /** The commands the saga issued, in order. */
  const commands = async (saga: SagaType, orderId: string) => (await sagaEvents(saga, orderId)).flatMap((e) => (e.type === 'CommandIssued' ? [e.command] : []));
  const lastCommand = async (saga: SagaType, orderId: string) => (await commands(saga, orderId)).at(-1);
  const ending = async (saga: SagaType, orderId: string) => (await sagaEvents(saga, orderId)).find((e) => e.type === 'SagaEnded');

  /**
   * The pact interaction: the message (at `version`, by default the current one), answering the saga's current
   * step when it is a reply, must be handled, then `then` holds.
   */
  const expect_ = async <D extends MessageDefinition>(
    definition: D,
    state: string,
    data: MessageData<D>,
    answering: { saga: SagaType; orderId: string } | undefined,
    then: () => Promise<void>,
    version = definition.version,
  ) =>
    expectMessage({
      consumer: CONSUMER,
      provider: definition.producer,
      state,
      message: await messageOf(definition, data, answering, version),
      schema: schemas[`${definition.type}@v${version}`] as object,
      handle: async (m) => {
        await handledOnce(m);
        await then();
      },
    });

  it('order.placed v2: starts the place-order saga, which asks the catalog to price the lines', async () => {
    const o = anOrder();
    await expect_(OrderPlaced, 'a customer placed an order', o.placed, undefined, async () => {
      expect(await commands('place-order', o.orderId)).toEqual([{ type: 'catalog.price-order-lines', data: { orderId: o.orderId, lines: o.lines } }]);
    });
  });

  // What an order service still configured with ORDER_PLACED_VERSION=1 publishes: read through the upcaster.
  it('order.placed v1: starts the place-order saga just the same', async () => {
    const o = anOrder();
    await expect_(
      OrderPlaced,
      'a customer placed an order',
      o.placed,
      undefined,
      async () => {
        expect(await commands('place-order', o.orderId)).toEqual([{ type: 'catalog.price-order-lines', data: { orderId: o.orderId, lines: o.lines } }]);
      },
      1,
    );
  });

  it('catalog.order-lines-priced: moves the place-order saga on to reserving the stock', async () => {
    const o = anOrder();
    await given(o, [placed]);
    await expect_(OrderLinesPriced, "an order's lines are all for sale", o.priced, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'inventory.reserve-stock', data: { orderId: o.orderId, lines: o.lines } });
    });
  });

  it('catalog.order-lines-pricing-rejected: rejects the order, naming the product no longer sold', async () => {
    const o = anOrder();
    await given(o, [placed]);
    await expect_(OrderLinesPricingRejected, 'an order names a discontinued product', o.pricingRejected, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'order.reject-order', data: { orderId: o.orderId, reason: `${o.sku} is no longer sold` } });
    });
  });

  it('inventory.stock-reserved: moves the place-order saga on to authorizing the payment', async () => {
    const o = anOrder();
    await given(o, [placed, priced]);
    await expect_(StockReserved, "an order's lines are in stock", o.reserved, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'order.authorize-payment', data: { orderId: o.orderId, amount: o.total } });
    });
  });

  it('inventory.stock-reservation-failed: rejects the order for the shortage', async () => {
    const o = anOrder();
    await given(o, [placed, priced]);
    await expect_(StockReservationFailed, "an order's lines are not in stock", o.reservationFailed, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'order.reject-order', data: { orderId: o.orderId, reason: `${o.sku} is out of stock` } });
    });
  });

  it('inventory.stock-released: goes on from releasing the stock of a declined payment to rejecting the order', async () => {
    const o = anOrder();
    await given(o, [placed, priced, reserved, declined]);
    await expect_(StockReleased, "an order's reservation was released", o.released, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'order.reject-order', data: { orderId: o.orderId, reason: 'the payment was declined' } });
    });
  });

  it('inventory.reservation-committed: completes the place-order saga', async () => {
    const o = anOrder();
    await given(o, [placed, priced, reserved, authorized, confirmed]);
    await expect_(ReservationCommitted, "an order's reservation was committed", o.committed, to(o), async () => {
      expect(await ending('place-order', o.orderId)).toMatchObject({ status: 'completed', compensations: 0 });
    });
  });

  it('order.payment-authorized: moves the place-order saga on to confirming the order at its prices', async () => {
    const o = anOrder();
    await given(o, [placed, priced, reserved]);
    await expect_(PaymentAuthorized, "an order's payment was authorized", o.authorized, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({
        type: 'order.confirm-order',
        data: { orderId: o.orderId, lines: o.pricedLines, total: o.total },
      });
    });
  });

  it('order.payment-declined: compensates by releasing the reserved stock', async () => {
    const o = anOrder();
    await given(o, [placed, priced, reserved]);
    await expect_(PaymentDeclined, "an order's payment was declined", o.declined, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({
        type: 'inventory.release-stock',
        data: { orderId: o.orderId, reason: 'the payment was declined' },
      });
    });
  });

  it('order.payment-voided: moves the cancel-order saga on to releasing the stock', async () => {
    const o = anOrder();
    await given(o, [...completedOrder, cancellationRequested]);
    await expect_(PaymentVoided, "an order's payment was voided", o.voided, to(o, 'cancel-order'), async () => {
      expect(await lastCommand('cancel-order', o.orderId)).toEqual({
        type: 'inventory.release-stock',
        data: { orderId: o.orderId, reason: "cancelled at the customer's request" },
      });
    });
  });

  it('order.confirmed: moves the place-order saga on to committing the reservation', async () => {
    const o = anOrder();
    await given(o, [placed, priced, reserved, authorized]);
    await expect_(OrderConfirmed, 'an order was confirmed', o.confirmed, to(o), async () => {
      expect(await lastCommand('place-order', o.orderId)).toEqual({ type: 'inventory.commit-reservation', data: { orderId: o.orderId } });
    });
  });

  it('order.rejected: ends the place-order saga rejected', async () => {
    const o = anOrder();
    await given(o, [placed, pricingRejected]);
    await expect_(OrderRejected, 'an order was rejected', o.rejected, to(o), async () => {
      expect(await ending('place-order', o.orderId)).toMatchObject({ status: 'rejected', reason: `${o.sku} is no longer sold` });
    });
  });

  it('order.cancellation-requested: starts the cancel-order saga of the confirmed order, which voids its payment', async () => {
    const o = anOrder();
    await given(o, completedOrder);
    await expect_(OrderCancellationRequested, 'a customer asked to cancel an order', o.cancellationRequested, undefined, async () => {
      expect(await commands('cancel-order', o.orderId)).toEqual([{ type: 'order.void-payment', data: { orderId: o.orderId } }]);
    });
  });

  it('order.cancelled: ends the cancel-order saga cancelled', async () => {
    const o = anOrder();
    await given(o, [...completedOrder, cancellationRequested, voided, released]);
    await expect_(OrderCancelled, 'an order was cancelled', o.cancelled, to(o, 'cancel-order'), async () => {
      expect(await ending('cancel-order', o.orderId)).toMatchObject({ status: 'cancelled', compensations: 2 });
    });
  });
});
