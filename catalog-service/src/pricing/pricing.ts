import type { Money } from '@shop/contracts';

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

export const pricingDecider = { initialState, evolve };
