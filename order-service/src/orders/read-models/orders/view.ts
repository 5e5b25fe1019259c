import { statusAfter, type Money, type OrderEvent, type OrderLine, type OrderStatus, type PaymentStatus, type PricedLine } from '../../order';

/** An order as the API shows it. The payment token is never shown. */
export interface OrderView {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  lines: OrderLine[];
  /** Set once the order is confirmed. */
  pricedLines: PricedLine[] | null;
  total: Money | null;
  paymentStatus: PaymentStatus;
  placedAt: string;
  updatedAt: string;
  statusHistory: StatusChange[];
}

export interface StatusChange {
  status: OrderStatus;
  at: string;
  reason?: string;
}

export type OrderSummary = Omit<OrderView, 'statusHistory'>;

/** When the event happened, in the domain's time (the decision's `now`). */
export function occurredAt(event: OrderEvent): string {
  switch (event.type) {
    case 'OrderPlaced':
      return event.placedAt;
    case 'PaymentAuthorized':
      return event.authorizedAt;
    case 'PaymentDeclined':
      return event.declinedAt;
    case 'PaymentAuthorizationTimedOut':
      return event.at;
    case 'PaymentVoided':
      return event.voidedAt;
    case 'OrderConfirmed':
      return event.confirmedAt;
    case 'OrderRejected':
      return event.rejectedAt;
    case 'OrderCancellationRequested':
      return event.requestedAt;
    case 'OrderCancelled':
      return event.cancelledAt;
  }
}

const reasonOf = (event: OrderEvent): string | undefined =>
  'reason' in event && event.type !== 'PaymentDeclined' ? event.reason : undefined;

/**
 * The summary after `event`, and the status change it makes, if any. One
 * function for both the projection (row by row) and the single-order read
 * (folding the stream), so they cannot disagree.
 */
export function applyToSummary(
  summary: OrderSummary | undefined,
  event: OrderEvent,
): { summary: OrderSummary | undefined; change?: StatusChange } {
  const at = occurredAt(event);
  const next = statusAfter(summary?.status, event);
  const reason = reasonOf(event);
  const change: StatusChange | undefined = next ? { status: next, at, ...(reason ? { reason } : {}) } : undefined;
  if (event.type === 'OrderPlaced') {
    if (summary) return { summary };
    return {
      summary: {
        orderId: event.orderId,
        customerId: event.customerId,
        status: 'pending',
        lines: event.lines,
        pricedLines: null,
        total: null,
        paymentStatus: 'none',
        placedAt: event.placedAt,
        updatedAt: event.placedAt,
      },
      ...(change ? { change } : {}),
    };
  }
  if (!summary) return { summary };
  const updated: OrderSummary = { ...summary, status: next ?? summary.status, updatedAt: at };
  switch (event.type) {
    case 'PaymentAuthorized':
      updated.paymentStatus = 'authorized';
      break;
    case 'PaymentDeclined':
      updated.paymentStatus = 'declined';
      break;
    case 'PaymentAuthorizationTimedOut':
      updated.paymentStatus = 'timed-out';
      break;
    case 'PaymentVoided':
      updated.paymentStatus = 'voided';
      break;
    case 'OrderConfirmed':
      updated.pricedLines = event.lines;
      updated.total = event.total;
      break;
    default:
      break;
  }
  return { summary: updated, ...(change ? { change } : {}) };
}

/** The view of one order from its stream's events; undefined when there is no order. */
export function orderViewFrom(events: readonly OrderEvent[]): OrderView | undefined {
  let summary: OrderSummary | undefined;
  const statusHistory: StatusChange[] = [];
  for (const event of events) {
    const step = applyToSummary(summary, event);
    summary = step.summary;
    if (step.change) statusHistory.push(step.change);
  }
  return summary ? { ...summary, statusHistory } : undefined;
}
