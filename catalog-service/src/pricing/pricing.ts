import { Money, OrderId, PricedLine as PricedLineSchema, Sku, Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';
import { z } from 'zod';

export interface PricedLine {
  sku: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

export interface OrderLinesPriced {
  type: 'OrderLinesPriced';
  orderId: string;
  lines: PricedLine[];
  total: Money;
  pricedAt: string;
}

export interface OrderLinesPricingRejected {
  type: 'OrderLinesPricingRejected';
  orderId: string;
  unknownSkus: string[];
  discontinuedSkus: string[];
  /** Shown to the customer as the reason their order was rejected. */
  reason: string;
  rejectedAt: string;
}

export type PricingEvent = OrderLinesPriced | OrderLinesPricingRejected;

/** How a pricing's stored outcome is read back: validated by its schema, a `CorruptEventError` otherwise. */
export const pricingCodec = eventCodec<PricingEvent>({
  OrderLinesPriced: z.object({ orderId: OrderId, lines: z.array(PricedLineSchema), total: Money, pricedAt: Timestamp }),
  OrderLinesPricingRejected: z.object({
    orderId: OrderId,
    unknownSkus: z.array(Sku),
    discontinuedSkus: z.array(Sku),
    reason: z.string(),
    rejectedAt: Timestamp,
  }),
});

/** The pricing of one order: decided once, then only read. */
export type Pricing =
  | { status: 'unpriced' }
  | { status: 'priced'; orderId: string; lines: PricedLine[]; total: Money }
  | { status: 'rejected'; orderId: string; unknownSkus: string[]; discontinuedSkus: string[]; reason: string };

export const initialState: Pricing = { status: 'unpriced' };

export const pricingStreamId = (orderId: string): string => `pricing-${orderId}`;

export function evolve(_state: Pricing, event: PricingEvent): Pricing {
  switch (event.type) {
    case 'OrderLinesPriced':
      return { status: 'priced', orderId: event.orderId, lines: event.lines, total: event.total };
    case 'OrderLinesPricingRejected':
      return {
        status: 'rejected',
        orderId: event.orderId,
        unknownSkus: event.unknownSkus,
        discontinuedSkus: event.discontinuedSkus,
        reason: event.reason,
      };
  }
}
