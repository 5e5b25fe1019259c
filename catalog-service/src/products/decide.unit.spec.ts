import { ConflictError, NotFoundError } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import { describe, it } from 'vitest';
import { productDecider, type ProductCommand } from './decide';
import type { ProductEvent } from './product';

const spec = DeciderSpecification.for(productDecider);

const sku = 'MUG-001';
const now = '2026-03-01T10:00:00.000Z';
const eur = (amount: number) => ({ amount, currency: 'EUR' });

const added: ProductEvent = {
  type: 'ProductAdded',
  sku,
  name: 'Enamel mug',
  description: 'Holds 350 ml.',
  category: 'kitchen',
  price: eur(1299),
  addedAt: '2026-02-01T09:00:00.000Z',
};
const discontinued: ProductEvent = { type: 'ProductDiscontinued', sku, discontinuedAt: '2026-02-20T09:00:00.000Z' };

const add: ProductCommand = {
  type: 'AddProduct',
  sku,
  name: 'Enamel mug',
  description: 'Holds 350 ml.',
  category: 'kitchen',
  price: eur(1299),
  now,
};

describe('product decisions', () => {
  describe('when the product is absent', () => {
    it('adds it, for sale at its price', () => {
      spec.given([]).when(add).then([
        { type: 'ProductAdded', sku, name: 'Enamel mug', description: 'Holds 350 ml.', category: 'kitchen', price: eur(1299), addedAt: now },
      ]);
    });

    it('refuses to change details of a product that does not exist', () => {
      spec.given([]).when({ type: 'ChangeProductDetails', sku, name: 'Mug', now }).thenThrows(NotFoundError, /MUG-001 does not exist/);
    });

    it('refuses to change the price of a product that does not exist', () => {
      spec.given([]).when({ type: 'ChangePrice', sku, price: eur(999), now }).thenThrows(NotFoundError);
    });

    it('refuses to discontinue a product that does not exist', () => {
      spec.given([]).when({ type: 'DiscontinueProduct', sku, now }).thenThrows(NotFoundError);
    });
  });

  describe('when the product is active', () => {
    it('refuses to add the same SKU again, even with the same details', () => {
      spec.given([added]).when(add).thenThrows(ConflictError, /already exists/);
    });

    it('records only the details that differ', () => {
      spec.given([added])
        .when({ type: 'ChangeProductDetails', sku, name: 'Enamel mug, blue', description: 'Holds 350 ml.', now })
        .then([{ type: 'ProductDetailsChanged', sku, name: 'Enamel mug, blue', changedAt: now }]);
    });

    it('records every detail that differs', () => {
      spec.given([added])
        .when({ type: 'ChangeProductDetails', sku, name: 'Mug', description: 'Big.', category: 'coffee', now })
        .then([{ type: 'ProductDetailsChanged', sku, name: 'Mug', description: 'Big.', category: 'coffee', changedAt: now }]);
    });

    it('decides nothing when the details are already those', () => {
      spec.given([added]).when({ type: 'ChangeProductDetails', sku, name: 'Enamel mug', category: 'kitchen', now }).thenNothing();
    });

    it('compares details with the latest change, not the original', () => {
      spec.given([added, { type: 'ProductDetailsChanged', sku, name: 'Mug', changedAt: now }])
        .when({ type: 'ChangeProductDetails', sku, name: 'Enamel mug', now })
        .then([{ type: 'ProductDetailsChanged', sku, name: 'Enamel mug', changedAt: now }]);
    });

    it('changes the price, naming the previous one', () => {
      spec.given([added])
        .when({ type: 'ChangePrice', sku, price: eur(1499), now })
        .then([{ type: 'ProductPriceChanged', sku, price: eur(1499), previousPrice: eur(1299), changedAt: now }]);
    });

    it('names the latest price as the previous one after several changes', () => {
      spec.given([added, { type: 'ProductPriceChanged', sku, price: eur(1499), previousPrice: eur(1299), changedAt: now }])
        .when({ type: 'ChangePrice', sku, price: eur(999), now })
        .then([{ type: 'ProductPriceChanged', sku, price: eur(999), previousPrice: eur(1499), changedAt: now }]);
    });

    it('decides nothing when the price is the same', () => {
      spec.given([added]).when({ type: 'ChangePrice', sku, price: eur(1299), now }).thenNothing();
    });

    it('allows a change of currency, even at the same amount', () => {
      spec.given([added])
        .when({ type: 'ChangePrice', sku, price: { amount: 1299, currency: 'USD' }, now })
        .then([{ type: 'ProductPriceChanged', sku, price: { amount: 1299, currency: 'USD' }, previousPrice: eur(1299), changedAt: now }]);
    });

    it('discontinues it', () => {
      spec.given([added]).when({ type: 'DiscontinueProduct', sku, now }).then([{ type: 'ProductDiscontinued', sku, discontinuedAt: now }]);
    });
  });

  describe('when the product is discontinued', () => {
    it('refuses to add the same SKU again', () => {
      spec.given([added, discontinued]).when(add).thenThrows(ConflictError, /already exists/);
    });

    it('refuses to change its details', () => {
      spec.given([added, discontinued]).when({ type: 'ChangeProductDetails', sku, name: 'Mug', now }).thenThrows(ConflictError, /discontinued/);
    });

    it('refuses to change its price', () => {
      spec.given([added, discontinued]).when({ type: 'ChangePrice', sku, price: eur(1), now }).thenThrows(ConflictError, /discontinued/);
    });

    it('refuses to change its price even to the same price', () => {
      spec.given([added, discontinued]).when({ type: 'ChangePrice', sku, price: eur(1299), now }).thenThrows(ConflictError);
    });

    it('decides nothing when discontinued again', () => {
      spec.given([added, discontinued]).when({ type: 'DiscontinueProduct', sku, now }).thenNothing();
    });
  });
});
