import { deterministicId, type EventStore } from '@shop/platform';

export interface PlaceOrderInput {
  orderId: string;
  sku: string;
  quantity: number;
  paymentToken: string;
}

/** What every step gets: the order, and the revision the order stream must be at. */
export interface StepInput extends PlaceOrderInput {
  /** -1: the stream must not exist yet. */
  expectedRevision: number;
}

export interface StepRevision {
  /** The order stream's revision after the step's event. */
  revision: number;
}

/** The order stream of the peer's saga (its category, `peerorder`, keeps it apart from anything else). */
export const orderStream = (orderId: string) => `peerorder-${orderId}`;

/** The event types that end an order's saga: their commit time is when the order became terminal. */
export const TERMINAL_EVENT_TYPES = ['OrderConfirmed', 'OrderRejected'] as const;

/**
 * The saga's steps as Temporal activities. Each does the durable work of the
 * platform participant it stands for, and no more: one event appended to the
 * order's stream with the expected revision, in one transaction of the
 * platform's own Postgres event store (so concurrent appends are
 * group-committed as the platform's are). The event's id is derived from the
 * order and the step, so an activity retried after its append committed
 * (Temporal delivers activities at least once) is deduplicated by the store.
 */
export function placeOrderActivities(store: EventStore) {
  const append = async (s: StepInput, type: string, data: Record<string, unknown>): Promise<StepRevision> => {
    const result = await store.append(orderStream(s.orderId), [{ id: deterministicId('peer', s.orderId, type), type, data }], {
      expectedRevision: s.expectedRevision < 0 ? 'no_stream' : s.expectedRevision,
    });
    return { revision: result.nextExpectedRevision };
  };
  return {
    /** Catalog: the line priced (a fixed price list: the platform's catalog read is in memory too). */
    async priceLines(s: StepInput): Promise<StepRevision & { amount: number }> {
      const amount = 100 * s.quantity;
      return { ...(await append(s, 'LinesPriced', { orderId: s.orderId, sku: s.sku, quantity: s.quantity, amount, currency: 'EUR' })), amount };
    },
    /** Inventory: the stock reserved. */
    reserveStock: (s: StepInput) => append(s, 'StockReserved', { orderId: s.orderId, sku: s.sku, quantity: s.quantity }),
    /** Payment: authorized, or declined for `tok_decline` (the sandbox adapter's documented token). */
    async authorizePayment(s: StepInput & { amount: number }): Promise<StepRevision & { approved: boolean; reason?: string }> {
      const approved = s.paymentToken !== 'tok_decline';
      const reason = approved ? undefined : 'payment declined';
      const type = approved ? 'PaymentAuthorized' : 'PaymentDeclined';
      return { ...(await append(s, type, { orderId: s.orderId, amount: s.amount, ...(reason ? { reason } : {}) })), approved, ...(reason ? { reason } : {}) };
    },
    confirmOrder: (s: StepInput) => append(s, 'OrderConfirmed', { orderId: s.orderId }),
    voidPayment: (s: StepInput) => append(s, 'PaymentVoided', { orderId: s.orderId }),
    releaseStock: (s: StepInput) => append(s, 'StockReleased', { orderId: s.orderId, sku: s.sku, quantity: s.quantity }),
    rejectOrder: (s: StepInput & { reason: string }) => append(s, 'OrderRejected', { orderId: s.orderId, reason: s.reason }),
  };
}

export type PlaceOrderActivities = ReturnType<typeof placeOrderActivities>;
