import { executeCommand, type Clock, type EventMetadata, type EventStore } from '@shop/platform';
import { loadProduct } from '../products/catalog';
import type { Product } from '../products/product';
import { priceOrderLines } from './decide';
import { pricingDecider, pricingStreamId, type Pricing } from './pricing';

/**
 * Prices an order's lines against the products' streams, not the read model:
 * the read model lags the log, and a product discontinued a moment ago must
 * not be sold. The outcome is appended to `pricing-<orderId>`, whose first
 * event settles the order's pricing for good.
 */
export class OrderPricing {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  async price(
    command: { orderId: string; lines: { sku: string; quantity: number }[] },
    options: { eventId?: (index: number) => string; metadata?: EventMetadata } = {},
  ): Promise<Pricing> {
    const skus = [...new Set(command.lines.map((l) => l.sku))];
    const products = new Map<string, Product>(
      await Promise.all(skus.map(async (sku) => [sku, await loadProduct(this.store, sku)] as const)),
    );
    const now = this.clock.now().toISOString();
    const { state } = await executeCommand({
      store: this.store,
      streamId: pricingStreamId(command.orderId),
      decider: pricingDecider,
      decide: (s) => priceOrderLines(s, { type: 'PriceOrderLines', ...command, products, now }),
      ...options,
    });
    return state;
  }
}
