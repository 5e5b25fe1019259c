import type { Decider } from '@shop/platform';
import type { Product } from '../products/product';
import { evolve, initialState, pricingCodec, type Pricing, type PricingEvent, type PricedLine } from './pricing';

export interface PriceOrderLines {
  type: 'PriceOrderLines';
  orderId: string;
  lines: { sku: string; quantity: number }[];
  /** The current state of every SKU in `lines`, read from the products' streams; a missing SKU is unknown. */
  products: ReadonlyMap<string, Product>;
  now: string;
}

/**
 * The largest amount a contract `Money` carries (minor units). A total above
 * it could not be published, so such an order is rejected here instead.
 */
export const MAX_AMOUNT = 100_000_000_000;

/**
 * Prices every line at the product's current price, or rejects the whole
 * order, naming every SKU that is unknown or discontinued. Decided once per
 * order: a second command for the same order (a redelivery, or the
 * coordinator asking again) decides nothing, so the first answer stands.
 */
export function priceOrderLines(command: PriceOrderLines, state: Pricing): PricingEvent[] {
  if (state.status !== 'unpriced') return [];
  const { orderId, lines, products, now } = command;

  const skus = [...new Set(lines.map((l) => l.sku))];
  const statusOf = (sku: string) => products.get(sku)?.status ?? 'absent';
  const unknownSkus = skus.filter((sku) => statusOf(sku) === 'absent');
  const discontinuedSkus = skus.filter((sku) => statusOf(sku) === 'discontinued');
  const reject = (reason: string): PricingEvent[] => [
    { type: 'OrderLinesPricingRejected', orderId, unknownSkus, discontinuedSkus, reason, rejectedAt: now },
  ];
  if (unknownSkus.length > 0 || discontinuedSkus.length > 0) return reject(unavailableReason(unknownSkus, discontinuedSkus));

  const priced: PricedLine[] = lines.map(({ sku, quantity }) => {
    const product = products.get(sku);
    if (product?.status !== 'active') throw new Error(`unreachable: ${sku} is not active`);
    const unitPrice = product.price;
    return { sku, quantity, unitPrice, lineTotal: { amount: unitPrice.amount * quantity, currency: unitPrice.currency } };
  });

  const currencies = [...new Set(priced.map((l) => l.unitPrice.currency))];
  if (currencies.length > 1) {
    return reject(
      `The items in this order are priced in different currencies (${currencies.join(', ')}) and cannot be paid together. Please order them separately.`,
    );
  }
  const total = priced.reduce((sum, l) => sum + l.lineTotal.amount, 0);
  if (total > MAX_AMOUNT) {
    return reject('The order total is above the largest amount we accept in one order. Please split it into smaller orders.');
  }
  return [{ type: 'OrderLinesPriced', orderId, lines: priced, total: { amount: total, currency: currencies[0]! }, pricedAt: now }];
}

function unavailableReason(unknownSkus: string[], discontinuedSkus: string[]): string {
  const verb = (skus: string[]) => (skus.length === 1 ? 'is' : 'are');
  const parts: string[] = [];
  if (unknownSkus.length > 0) parts.push(`${unknownSkus.join(', ')} ${verb(unknownSkus)} not in our catalog`);
  if (discontinuedSkus.length > 0) parts.push(`${discontinuedSkus.join(', ')} ${verb(discontinuedSkus)} no longer sold`);
  return `Some items in this order cannot be sold: ${parts.join('; ')}.`;
}

/** The pricing of one order: `PriceOrderLines` decided on the state of `pricing-<orderId>`, read back through its codec. */
export const pricingDecider: Decider<PriceOrderLines, Pricing, PricingEvent> = { initialState, evolve, decide: priceOrderLines, codec: pricingCodec };
