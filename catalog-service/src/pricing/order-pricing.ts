import type { Clock, Work } from '@shop/platform';
import { productDecider } from '../products/decide';
import { productStreamId } from '../products/product';
import { pricingDecider } from './decide';
import { pricingStreamId, type Pricing } from './pricing';

/**
 * Prices an order's lines against the products' streams, not the read model:
 * the read model lags the log, and a product discontinued a moment ago must
 * not be sold. The products are part of the unit of work's reads, so a price
 * change committed between the read and the commit makes the commit refuse
 * the pricing, which is then decided again. The outcome goes to
 * `pricing-<orderId>`, whose first event settles the order's pricing for good.
 */
export class OrderPricing {
  constructor(private readonly clock: Clock) {}

  async price(work: Work, command: { orderId: string; lines: { sku: string; quantity: number }[] }): Promise<Pricing> {
    const skus = [...new Set(command.lines.map((l) => l.sku))];
    const pricingStream = pricingStreamId(command.orderId);
    await work.loadAll([
      ...skus.map((sku) => ({ streamId: productStreamId(sku), aggregate: productDecider })),
      { streamId: pricingStream, aggregate: pricingDecider },
    ]);
    const products = new Map(skus.map((sku) => [sku, work.stateOf(productStreamId(sku), productDecider)] as const));
    const now = this.clock.now().toISOString();
    const { state } = await work.decide(pricingStream, pricingDecider, { type: 'PriceOrderLines', ...command, products, now });
    return state;
  }
}
