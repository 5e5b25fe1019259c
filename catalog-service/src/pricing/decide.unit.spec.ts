import { DeciderSpecification } from '@shop/platform/testing';
import { describe, expect, it } from 'vitest';
import type { Product } from '../products/product';
import { MAX_AMOUNT, pricingDecider, type PriceOrderLines } from './decide';
import type { PricingEvent } from './pricing';

const spec = DeciderSpecification.for(pricingDecider);

const orderId = '0b5c7c3e-2f0a-4a39-9a55-1d8e6f3c2b10';
const now = '2026-03-01T10:00:00.000Z';
const money = (amount: number, currency = 'EUR') => ({ amount, currency });
const product = (sku: string, price = money(1000), status: 'active' | 'discontinued' = 'active'): [string, Product] => [
  sku,
  status === 'active'
    ? { status, sku, name: sku, description: '', category: 'c', price, addedAt: now }
    : { status, sku, name: sku, description: '', category: 'c', price, addedAt: now, discontinuedAt: now },
];
const command = (lines: { sku: string; quantity: number }[], products: [string, Product][]): PriceOrderLines => ({
  type: 'PriceOrderLines',
  orderId,
  lines,
  products: new Map(products),
  now,
});

const priced: PricingEvent = {
  type: 'OrderLinesPriced',
  orderId,
  lines: [{ sku: 'A-1', quantity: 1, unitPrice: money(100), lineTotal: money(100) }],
  total: money(100),
  pricedAt: now,
};
const rejected: PricingEvent = {
  type: 'OrderLinesPricingRejected',
  orderId,
  unknownSkus: ['X-1'],
  discontinuedSkus: [],
  reason: 'X-1 is not in our catalog',
  rejectedAt: now,
};

describe('pricing order lines', () => {
  describe('when the order is not priced yet', () => {
    it('prices every line at the current price and totals them', () => {
      spec.given([])
        .when(command([{ sku: 'A-1', quantity: 3 }, { sku: 'B-2', quantity: 1 }], [product('A-1', money(250)), product('B-2', money(1999))]))
        .then([
          {
            type: 'OrderLinesPriced',
            orderId,
            lines: [
              { sku: 'A-1', quantity: 3, unitPrice: money(250), lineTotal: money(750) },
              { sku: 'B-2', quantity: 1, unitPrice: money(1999), lineTotal: money(1999) },
            ],
            total: money(2749),
            pricedAt: now,
          },
        ]);
    });

    it('prices a SKU that appears on two lines once per line', () => {
      spec.given([])
        .when(command([{ sku: 'A-1', quantity: 1 }, { sku: 'A-1', quantity: 2 }], [product('A-1', money(300, 'USD'))]))
        .then([
          {
            type: 'OrderLinesPriced',
            orderId,
            lines: [
              { sku: 'A-1', quantity: 1, unitPrice: money(300, 'USD'), lineTotal: money(300, 'USD') },
              { sku: 'A-1', quantity: 2, unitPrice: money(300, 'USD'), lineTotal: money(600, 'USD') },
            ],
            total: money(900, 'USD'),
            pricedAt: now,
          },
        ]);
    });

    it('rejects the order naming every unknown and discontinued SKU once', () => {
      const { events } = spec
        .given([])
        .when(
          command(
            [{ sku: 'A-1', quantity: 1 }, { sku: 'X-1', quantity: 1 }, { sku: 'OLD-1', quantity: 2 }, { sku: 'X-1', quantity: 4 }],
            [product('A-1'), product('OLD-1', money(5), 'discontinued')],
          ),
        )
        .decided();
      expect(events).toEqual([
        {
          type: 'OrderLinesPricingRejected',
          orderId,
          unknownSkus: ['X-1'],
          discontinuedSkus: ['OLD-1'],
          reason: 'Some items in this order cannot be sold: X-1 is not in our catalog; OLD-1 is no longer sold.',
          rejectedAt: now,
        },
      ]);
    });

    it('rejects an order whose SKUs are all unknown, in words a customer can read', () => {
      spec.given([])
        .when(command([{ sku: 'X-1', quantity: 1 }, { sku: 'X-2', quantity: 1 }], []))
        .then([
          {
            type: 'OrderLinesPricingRejected',
            orderId,
            unknownSkus: ['X-1', 'X-2'],
            discontinuedSkus: [],
            reason: 'Some items in this order cannot be sold: X-1, X-2 are not in our catalog.',
            rejectedAt: now,
          },
        ]);
    });

    it('rejects an order whose products are priced in different currencies', () => {
      spec.given([])
        .when(command([{ sku: 'A-1', quantity: 1 }, { sku: 'B-2', quantity: 1 }], [product('A-1', money(100, 'EUR')), product('B-2', money(100, 'USD'))]))
        .then([
          {
            type: 'OrderLinesPricingRejected',
            orderId,
            unknownSkus: [],
            discontinuedSkus: [],
            reason:
              'The items in this order are priced in different currencies (EUR, USD) and cannot be paid together. Please order them separately.',
            rejectedAt: now,
          },
        ]);
    });

    it('rejects an order whose total is beyond what a message can carry', () => {
      const { events } = spec
        .given([])
        .when(
          command([{ sku: 'A-1', quantity: 10_000 }, { sku: 'B-2', quantity: 2 }], [product('A-1', money(MAX_AMOUNT / 10_000)), product('B-2', money(1))]),
        )
        .decided();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'OrderLinesPricingRejected', unknownSkus: [], discontinuedSkus: [] });
      expect((events[0] as { reason: string }).reason).toMatch(/largest amount/);
    });

    it('prices an order whose total is exactly the largest amount', () => {
      const { events } = spec
        .given([])
        .when(command([{ sku: 'A-1', quantity: 10_000 }], [product('A-1', money(MAX_AMOUNT / 10_000))]))
        .decided();
      expect(events[0]).toMatchObject({ type: 'OrderLinesPriced', total: money(MAX_AMOUNT) });
    });
  });

  describe('when the order is already priced', () => {
    it('decides nothing, even if prices changed since', () => {
      spec.given([priced]).when(command([{ sku: 'A-1', quantity: 1 }], [product('A-1', money(999))])).thenNothing();
    });

    it('decides nothing, even if the lines now include an unknown SKU', () => {
      spec.given([priced]).when(command([{ sku: 'X-1', quantity: 1 }], [])).thenNothing();
    });
  });

  describe('when the order was already rejected', () => {
    it('decides nothing, even if the SKUs exist now', () => {
      spec.given([rejected]).when(command([{ sku: 'X-1', quantity: 1 }], [product('X-1')])).thenNothing();
    });
  });
});
