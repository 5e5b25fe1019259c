import type { Knex } from 'knex';
import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderLinesPriced,
  OrderLinesPricingRejected,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  StockReservationFailed,
  contracts,
  decodeContract,
  type MessageData,
} from '@shop/contracts';
import { isHandled, markHandled, type ConsumedMessage, type Envelope } from '@shop/platform';
import type { SagaInput, SagaType } from '../../sagas/saga';
import type { InputContext, Sagas } from '../../sagas/sagas';

/** The consumer group, and the inbox's consumer name. */
export const COORDINATOR_CONSUMER = 'coordinator-service';

type Route = (data: unknown, causationId: string | undefined) => { orderId: string; targets: SagaType[]; input: SagaInput };

const withCause = (causationId: string | undefined) => (causationId ? { causationId } : {});
const orderIdOf = (data: unknown) => (data as { orderId: string }).orderId;
const simple =
  (type: 'StockReserved' | 'StockReleased' | 'ReservationCommitted' | 'PaymentVoided' | 'OrderConfirmed', targets: SagaType[]): Route =>
  (data, cause) => ({ orderId: orderIdOf(data), targets, input: { type, ...withCause(cause) } });

/** Contract message type -> the sagas it concerns and their input. Types not listed are not the sagas' business. */
const ROUTES: Record<string, Route> = {
  [OrderPlaced.type]: (data) => {
    const d = data as MessageData<typeof OrderPlaced>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'OrderPlaced', orderId: d.orderId, customerId: d.customerId, lines: d.lines } };
  },
  [OrderLinesPriced.type]: (data, cause) => {
    const d = data as MessageData<typeof OrderLinesPriced>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'OrderLinesPriced', lines: d.lines, total: d.total, ...withCause(cause) } };
  },
  [OrderLinesPricingRejected.type]: (data, cause) => {
    const d = data as MessageData<typeof OrderLinesPricingRejected>;
    return {
      orderId: d.orderId,
      targets: ['place-order'],
      input: { type: 'OrderLinesPricingRejected', unknownSkus: d.unknownSkus, discontinuedSkus: d.discontinuedSkus, reason: d.reason, ...withCause(cause) },
    };
  },
  'inventory.stock-reserved': simple('StockReserved', ['place-order']),
  [StockReservationFailed.type]: (data, cause) => {
    const d = data as MessageData<typeof StockReservationFailed>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'StockReservationFailed', shortages: d.shortages, ...withCause(cause) } };
  },
  'inventory.stock-released': simple('StockReleased', ['place-order', 'cancel-order']),
  'inventory.reservation-committed': simple('ReservationCommitted', ['place-order']),
  [PaymentAuthorized.type]: (data, cause) => {
    const d = data as MessageData<typeof PaymentAuthorized>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'PaymentAuthorized', authorizationId: d.authorizationId, amount: d.amount, ...withCause(cause) } };
  },
  [PaymentDeclined.type]: (data, cause) => {
    const d = data as MessageData<typeof PaymentDeclined>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'PaymentDeclined', reason: d.reason, ...withCause(cause) } };
  },
  'order.payment-voided': simple('PaymentVoided', ['place-order', 'cancel-order']),
  'order.confirmed': simple('OrderConfirmed', ['place-order']),
  [OrderRejected.type]: (data, cause) => {
    const d = data as MessageData<typeof OrderRejected>;
    return { orderId: d.orderId, targets: ['place-order'], input: { type: 'OrderRejected', reason: d.reason, ...withCause(cause) } };
  },
  [OrderCancelled.type]: (data, cause) => {
    const d = data as MessageData<typeof OrderCancelled>;
    return { orderId: d.orderId, targets: ['place-order', 'cancel-order'], input: { type: 'OrderCancelled', reason: d.reason, ...withCause(cause) } };
  },
  [OrderCancellationRequested.type]: (data) => {
    const d = data as MessageData<typeof OrderCancellationRequested>;
    return {
      orderId: d.orderId,
      targets: [],
      input: { type: 'CancellationRequested', orderId: d.orderId, customerId: d.customerId, ...(d.reason ? { reason: d.reason } : {}) },
    };
  },
};

export const CONSUMED_TYPES = Object.keys(ROUTES);

/**
 * Participants' facts and replies on `order.events`, `catalog.events` and
 * `inventory.events` -> saga inputs, routed by order id.
 *
 * Exactly-once effect over at-least-once delivery: a message whose envelope
 * id is in the inbox is skipped; otherwise the saga appends with event ids
 * derived from the envelope id, and the inbox row is written after that
 * (the append cannot share the inbox's transaction). A crash in between
 * redelivers the message; the saga then decides nothing new (a duplicate
 * reply changes nothing) and the derived ids absorb a repeated append.
 */
export function participantEventsHandler(deps: { db: Knex; sagas: Sagas }): (message: ConsumedMessage) => Promise<void> {
  const { db, sagas } = deps;
  return async (message) => {
    const { envelope, definition, data } = decodeContract(contracts, message);
    const route = ROUTES[definition.type];
    if (!route) return;
    if (await isHandled(db, COORDINATOR_CONSUMER, envelope.id)) return;
    const { orderId, targets, input } = route(data, envelope.causationid);
    const context = inputContext(envelope);
    if (input.type === 'CancellationRequested') {
      await sagas.requestCancellation(input, context);
    } else {
      for (const type of targets) await sagas.apply(type, orderId, input, context);
      if (input.type === 'ReservationCommitted') await sagas.reconcileCancellation(orderId, context);
    }
    await markHandled(db, COORDINATOR_CONSUMER, envelope.id);
  };
}

function inputContext(envelope: Envelope): InputContext {
  return {
    key: envelope.id,
    metadata: {
      correlationId: envelope.correlationid,
      causationId: envelope.id,
      ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
    },
  };
}
