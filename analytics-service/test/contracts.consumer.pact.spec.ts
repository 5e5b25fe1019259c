import { randomUUID } from 'node:crypto';
import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  ProductAdded,
  ProductDiscontinued,
  ProductPriceChanged,
  ReservationCommitted,
  SagaEnded,
  StockLevelChanged,
  buildMessage,
  publishedJsonSchemas,
  type MessageData,
  type MessageDefinition,
} from '@shop/contracts';
import type { ConsumedMessage, MessageProcessor, OutgoingMessage } from '@shop/platform';
import { clearConsumerPacts, expectMessage, handleOnce } from '@shop/platform/testing/pacts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveEventId, archiveStreamId } from '../src/archive/archive';
import { archiveProcess, consumed, eur, startAnalytics, type AnalyticsUnderTest } from './support';

const CONSUMER = 'analytics-service';
/** The JSON Schema of every version analytics reads, `<type>@v<version>` (order.placed v1 as well as v2). */
const schemas = publishedJsonSchemas([
  ProductAdded,
  ProductPriceChanged,
  ProductDiscontinued,
  StockLevelChanged,
  ReservationCommitted,
  OrderPlaced,
  OrderConfirmed,
  OrderRejected,
  OrderCancellationRequested,
  OrderCancelled,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  SagaEnded,
]);

const now = () => new Date().toISOString();
const freshSku = () => `T-${randomUUID().slice(0, 8).toUpperCase()}`;

/** One order and what the services say about it (fresh ids per test). */
function anOrder() {
  const orderId = randomUUID();
  const customerId = 'alice';
  const sku = freshSku();
  const lines = [{ sku, quantity: 2 }];
  const pricedLines = [{ sku, quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }];
  const total = eur(1000);
  return {
    orderId,
    sku,
    placed: { orderId, customerId, lines, placedAt: now(), channel: 'mobile' as const },
    confirmed: { orderId, customerId, lines: pricedLines, total, confirmedAt: now() },
    rejected: { orderId, customerId, reason: `${sku} is out of stock`, rejectedAt: now() },
    cancellationRequested: { orderId, customerId, requestedAt: now() },
    cancelled: { orderId, customerId, reason: "cancelled at the customer's request", cancelledAt: now() },
    committed: { orderId, lines },
    authorized: { orderId, authorizationId: `auth-${orderId}`, amount: total },
    declined: { orderId, reason: 'insufficient funds' },
    voided: { orderId },
  };
}

/**
 * The facts analytics consumes, as pacts with their producers: each example
 * goes through analytics' real message path (decode, inbox, the archive's
 * handler, commit) on a real database and must be archived as it came; where
 * a projection reads it, the running service's projections must then show it.
 */
describe('analytics-service as a consumer (Pact)', () => {
  let svc: AnalyticsUnderTest;
  let processor: MessageProcessor;

  beforeAll(async () => {
    clearConsumerPacts(CONSUMER);
    svc = await startAnalytics('analytics_pacts');
    processor = archiveProcess(svc.store);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** The producer's message, at `version` (an older one it may still publish) or the current one. */
  const messageOf = <D extends MessageDefinition>(definition: D, data: MessageData<D>, version = definition.version) =>
    buildMessage(definition, data, { id: randomUUID(), source: definition.producer, correlationId: randomUUID(), time: now() }, { version });

  const handledOnce = (message: ConsumedMessage) => handleOnce(processor, message);

  /** Sets the scene: earlier facts, each archived in turn. */
  const given = async (...facts: OutgoingMessage[]) => {
    for (const f of facts) await handledOnce(consumed(f));
  };

  /** The message is archived once, on its stream, with its id, type, schema version and data as they came (an older version is not upcast in the archive). */
  const archivedAsItCame = async (m: ConsumedMessage) => {
    const events = await svc.store.readStream(archiveStreamId(m.topic, m.key));
    const id = archiveEventId(m.headers.ce_id!);
    expect(events.filter((e) => e.id === id)).toEqual([
      expect.objectContaining({ type: m.headers.ce_type, schemaVersion: Number(m.headers.ce_schemaversion), data: JSON.parse(m.value) }),
    ]);
  };

  /** The pact interaction: the message (at `version`, by default the current one) must be handled and archived, then (projections caught up) `then` holds. */
  const expect_ = <D extends MessageDefinition>(definition: D, state: string, data: MessageData<D>, then?: () => Promise<void>, version = definition.version) =>
    expectMessage({
      consumer: CONSUMER,
      provider: definition.producer,
      state,
      message: messageOf(definition, data, version),
      schema: schemas[`${definition.type}@v${version}`] as object,
      handle: async (m) => {
        await handledOnce(m);
        await archivedAsItCame(m);
        if (then) {
          await svc.projectionsCaughtUp();
          await then();
        }
      },
    });

  const liveOrder = (orderId: string) => svc.db('live_orders').where({ order_id: orderId }).first('status', 'reason', 'total_amount', 'currency', 'channel');
  const revenueOrder = (orderId: string) => svc.db('revenue_orders').where({ order_id: orderId }).first('status', 'amount', 'currency');

  it('catalog.product-added: archives it and names the product in product sales', async () => {
    const sku = freshSku();
    await expect_(ProductAdded, 'a product was added', { sku, name: 'Pliers', description: 'Long-nose pliers', category: 'tools', price: eur(700), addedAt: now() }, async () => {
      expect(await svc.db('product_sales_products').where({ sku }).first('name', 'category')).toEqual({ name: 'Pliers', category: 'tools' });
    });
  });

  it('catalog.product-price-changed: archives it', async () => {
    await expect_(ProductPriceChanged, "a product's price changed", { sku: freshSku(), price: eur(800), previousPrice: eur(700), changedAt: now() });
  });

  it('catalog.product-discontinued: archives it', async () => {
    await expect_(ProductDiscontinued, 'a product was discontinued', { sku: freshSku(), discontinuedAt: now() });
  });

  it("inventory.stock-level-changed: archives it and records the SKU's stock levels", async () => {
    const sku = freshSku();
    await expect_(StockLevelChanged, 'stock of a SKU was received', { sku, onHand: 5, reserved: 0, available: 5, sold: 0, received: 5, cause: 'received', changedAt: now() }, async () => {
      const row = await svc.db('stock_levels').where({ sku }).first('on_hand', 'available', 'last_cause');
      expect({ onHand: Number(row.on_hand), available: Number(row.available), cause: row.last_cause }).toEqual({ onHand: 5, available: 5, cause: 'received' });
    });
  });

  it('inventory.reservation-committed: archives it', async () => {
    await expect_(ReservationCommitted, "an order's reservation was committed", anOrder().committed);
  });

  it('order.placed v2: archives it and lists the order as pending, with the channel it was placed through', async () => {
    const o = anOrder();
    await expect_(OrderPlaced, 'a customer placed an order', o.placed, async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'pending', channel: 'mobile' });
    });
  });

  // What an order service still configured with ORDER_PLACED_VERSION=1 publishes: archived as v1, read through the upcaster.
  it('order.placed v1: archives it as v1 and lists the order as pending, placed through the API', async () => {
    const o = anOrder();
    const thenPending = async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'pending', channel: 'api' });
    };
    await expect_(OrderPlaced, 'a customer placed an order', o.placed, thenPending, 1);
  });

  it('order.confirmed: archives it, confirms the live order and counts its revenue and product sales', async () => {
    const o = anOrder();
    await given(messageOf(OrderPlaced, o.placed));
    await expect_(OrderConfirmed, 'an order was confirmed', o.confirmed, async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'confirmed', total_amount: '1000', currency: 'EUR' });
      expect(await revenueOrder(o.orderId)).toEqual({ status: 'confirmed', amount: '1000', currency: 'EUR' });
      expect(await svc.db('product_sales').where({ sku: o.sku }).first('units', 'revenue')).toEqual({ units: '2', revenue: '1000' });
    });
  });

  it('order.rejected: archives it and rejects the live order, with the reason', async () => {
    const o = anOrder();
    await given(messageOf(OrderPlaced, o.placed));
    await expect_(OrderRejected, 'an order was rejected', o.rejected, async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'rejected', reason: o.rejected.reason });
    });
  });

  it('order.cancellation-requested: archives it and marks the live order cancelling', async () => {
    const o = anOrder();
    await given(messageOf(OrderPlaced, o.placed), messageOf(OrderConfirmed, o.confirmed));
    await expect_(OrderCancellationRequested, 'a customer asked to cancel an order', o.cancellationRequested, async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'cancelling' });
    });
  });

  it('order.cancelled: archives it, cancels the live order and takes its revenue back', async () => {
    const o = anOrder();
    await given(messageOf(OrderPlaced, o.placed), messageOf(OrderConfirmed, o.confirmed), messageOf(OrderCancellationRequested, o.cancellationRequested));
    await expect_(OrderCancelled, 'an order was cancelled', o.cancelled, async () => {
      expect(await liveOrder(o.orderId)).toMatchObject({ status: 'cancelled', reason: o.cancelled.reason });
      expect(await revenueOrder(o.orderId)).toEqual({ status: 'cancelled', amount: '1000', currency: 'EUR' });
      expect(await svc.db('product_sales').where({ sku: o.sku }).first('units', 'revenue')).toEqual({ units: '0', revenue: '0' });
    });
  });

  it('order.payment-authorized: archives it', async () => {
    await expect_(PaymentAuthorized, "an order's payment was authorized", anOrder().authorized);
  });

  it('order.payment-declined: archives it', async () => {
    await expect_(PaymentDeclined, "an order's payment was declined", anOrder().declined);
  });

  it('order.payment-voided: archives it', async () => {
    await expect_(PaymentVoided, "an order's payment was voided", anOrder().voided);
  });

  it('saga.ended: archives it and records how long the saga ran', async () => {
    const orderId = randomUUID();
    const endedAt = now();
    const startedAt = new Date(Date.parse(endedAt) - 1_234).toISOString();
    const data = { sagaId: `place-order-${orderId}`, sagaType: 'place-order' as const, orderId, outcome: 'completed' as const, compensations: 0, startedAt, endedAt, durationMs: 1_234 };
    await expect_(SagaEnded, 'a place-order saga ended', data, async () => {
      const row = await svc.db('saga_runs').where({ saga_id: data.sagaId }).first('saga_type', 'outcome', 'compensations', 'duration_ms');
      expect(row).toEqual({ saga_type: 'place-order', outcome: 'completed', compensations: 0, duration_ms: '1234' });
    });
  });
});
