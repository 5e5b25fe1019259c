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
  contracts,
} from '@shop/contracts';
import { MessageHandlers, type InboundMessage, type Work } from '@shop/platform';
import type { SagaInput, SagaType } from '../../sagas/saga-state';
import type { Sagas } from '../../sagas/sagas';

/** The consumer group, and the inbox's consumer name. */
export const COORDINATOR_CONSUMER = 'coordinator-service';

/** The command a reply answers: the envelope's causation id. */
const causation = (message: InboundMessage) => (message.envelope.causationid ? { causationId: message.envelope.causationid } : {});

/**
 * Participants' facts and replies on `order.events`, `catalog.events` and
 * `inventory.events` -> saga inputs, routed by order id: one handler per
 * contract message. Other facts on those topics (stock levels, product
 * changes) are not the sagas' business and are acknowledged unread. The
 * platform's message path commits what the sagas decide with the inbox record.
 */
export function participantEventHandlers(sagas: Sagas): MessageHandlers {
  const to = (work: Work, targets: SagaType[], orderId: string, input: SagaInput) =>
    targets.reduce<Promise<unknown>>((prev, type) => prev.then(() => sagas.apply(work, type, orderId, input)), Promise.resolve());
  return new MessageHandlers(contracts)
    .on(OrderPlaced, (m, work) =>
      sagas.apply(work, 'place-order', m.data.orderId, { type: 'OrderPlaced', orderId: m.data.orderId, customerId: m.data.customerId, lines: m.data.lines }),
    )
    .on(OrderLinesPriced, (m, work) =>
      to(work, ['place-order'], m.data.orderId, { type: 'OrderLinesPriced', lines: m.data.lines, total: m.data.total, ...causation(m) }),
    )
    .on(OrderLinesPricingRejected, (m, work) =>
      to(work, ['place-order'], m.data.orderId, {
        type: 'OrderLinesPricingRejected',
        unknownSkus: m.data.unknownSkus,
        discontinuedSkus: m.data.discontinuedSkus,
        reason: m.data.reason,
        ...causation(m),
      }),
    )
    .on(StockReserved, (m, work) => to(work, ['place-order'], m.data.orderId, { type: 'StockReserved', ...causation(m) }))
    .on(StockReservationFailed, (m, work) =>
      to(work, ['place-order'], m.data.orderId, { type: 'StockReservationFailed', shortages: m.data.shortages, ...causation(m) }),
    )
    .on(StockReleased, (m, work) => to(work, ['place-order', 'cancel-order'], m.data.orderId, { type: 'StockReleased', ...causation(m) }))
    .on(ReservationCommitted, async (m, work) => {
      await to(work, ['place-order'], m.data.orderId, { type: 'ReservationCommitted', ...causation(m) });
      await sagas.reconcileCancellation(work, m.data.orderId);
    })
    .on(PaymentAuthorized, (m, work) =>
      to(work, ['place-order'], m.data.orderId, { type: 'PaymentAuthorized', authorizationId: m.data.authorizationId, amount: m.data.amount, ...causation(m) }),
    )
    .on(PaymentDeclined, (m, work) => to(work, ['place-order'], m.data.orderId, { type: 'PaymentDeclined', reason: m.data.reason, ...causation(m) }))
    .on(PaymentVoided, (m, work) => to(work, ['place-order', 'cancel-order'], m.data.orderId, { type: 'PaymentVoided', ...causation(m) }))
    .on(OrderConfirmed, (m, work) => to(work, ['place-order'], m.data.orderId, { type: 'OrderConfirmed', ...causation(m) }))
    .on(OrderRejected, (m, work) => to(work, ['place-order'], m.data.orderId, { type: 'OrderRejected', reason: m.data.reason, ...causation(m) }))
    .on(OrderCancelled, (m, work) =>
      to(work, ['place-order', 'cancel-order'], m.data.orderId, { type: 'OrderCancelled', reason: m.data.reason, ...causation(m) }),
    )
    .on(OrderCancellationRequested, (m, work) =>
      sagas.requestCancellation(work, {
        type: 'CancellationRequested',
        orderId: m.data.orderId,
        customerId: m.data.customerId,
        ...(m.data.reason ? { reason: m.data.reason } : {}),
      }),
    );
}
