import type { Decider } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import { messageOfType, publishedFor, verifyProviderPacts } from '@shop/platform/testing/pacts';
import { expectProducedMessages } from '@shop/contracts/testing';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { toMessages } from '../src/integration/outbound/to-messages';
import { pricingDecider, type PriceOrderLines } from '../src/pricing/decide';
import { pricingStreamId } from '../src/pricing/pricing';
import { productDecider, type ProductCommand } from '../src/products/decide';
import { productStreamId } from '../src/products/product';

const PROVIDER = 'catalog-service';
const now = '2030-01-01T00:00:00.000Z';
const sku = 'MUG-1';
const orderId = '22222222-2222-4222-8222-222222222222';
const eur = (amount: number) => ({ amount, currency: 'EUR' });

/** The events a decider decides for these commands, each on the state the ones before left. */
function decided<C, S, E extends { type: string }>(decider: Decider<C, S, E>, commands: readonly C[]): E[] {
  const spec = DeciderSpecification.for(decider);
  return commands.reduce<E[]>((events, command) => [...events, ...spec.given(events).when(command).decided().events], []);
}

const added: ProductCommand = { type: 'AddProduct', sku, name: 'Mug', description: 'A stoneware mug', category: 'kitchen', price: eur(1299), now };
const priceChanged: ProductCommand = { type: 'ChangePrice', sku, price: eur(1499), now };
const discontinued: ProductCommand = { type: 'DiscontinueProduct', sku, now };

/** The message of `type` the relay would publish for the product after `commands`. */
const productMessage = (type: string, commands: readonly ProductCommand[]) =>
  messageOfType(publishedFor(toMessages, productStreamId(sku), decided(productDecider, commands)), type);

/** The reply of `type` to pricing two of the product, in the state `commands` left it. */
const pricingReply = (type: string, productCommands: readonly ProductCommand[]) => {
  const product = DeciderSpecification.for(productDecider).given(decided(productDecider, productCommands)).state;
  const command: PriceOrderLines = { type: 'PriceOrderLines', orderId, lines: [{ sku, quantity: 2 }], products: new Map([[sku, product]]), now };
  return messageOfType(publishedFor(toMessages, pricingStreamId(orderId), decided(pricingDecider, [command])), type);
};

const STATES = [
  'a product was added',
  "a product's price changed",
  'a product was discontinued',
  "an order's lines are all for sale",
  'an order names a discontinued product',
];

/** Each message the catalog publishes, from its real deciders and outbound mapping; the state names the message, so the builders ignore it. */
const messages = {
  'catalog.product-added v1': () => productMessage('catalog.product-added', [added]),
  'catalog.product-price-changed v1': () => productMessage('catalog.product-price-changed', [added, priceChanged]),
  'catalog.product-discontinued v1': () => productMessage('catalog.product-discontinued', [added, discontinued]),
  'catalog.order-lines-priced v1': () => pricingReply('catalog.order-lines-priced', [added]),
  'catalog.order-lines-pricing-rejected v1': () => pricingReply('catalog.order-lines-pricing-rejected', [added, discontinued]),
};

describe('catalog-service as a provider (Pact)', () => {
  it('builds every version of every message the catalogue says it produces, each valid under its contract', () => expectProducedMessages(PROVIDER, messages));

  it('publishes every message its consumers expect, from its real deciders and outbound mapping', async () => {
    const records = await verifyProviderPacts({ provider: PROVIDER, version: pkg.version, states: STATES, messages });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.verified)).toBe(true);
  });
});
