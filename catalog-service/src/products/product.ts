import { Money, Sku, Timestamp } from '@shop/contracts';
import { eventCodec } from '@shop/platform';
import { z } from 'zod';

export interface ProductAdded {
  type: 'ProductAdded';
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  addedAt: string;
}

/** Only the fields that changed are present. */
export interface ProductDetailsChanged {
  type: 'ProductDetailsChanged';
  sku: string;
  name?: string;
  description?: string;
  category?: string;
  changedAt: string;
}

export interface ProductPriceChanged {
  type: 'ProductPriceChanged';
  sku: string;
  price: Money;
  previousPrice: Money;
  changedAt: string;
}

export interface ProductDiscontinued {
  type: 'ProductDiscontinued';
  sku: string;
  discontinuedAt: string;
}

export type ProductEvent = ProductAdded | ProductDetailsChanged | ProductPriceChanged | ProductDiscontinued;

/**
 * How a product's stored events are read back: the data of each type (all
 * but `type`) validated by its schema, a `CorruptEventError` otherwise. The
 * text limits are the API's, not repeated here: a stored name is read back
 * as it was accepted.
 */
export const productCodec = eventCodec<ProductEvent>({
  ProductAdded: z.object({
    sku: Sku,
    name: z.string(),
    description: z.string(),
    category: z.string(),
    price: Money,
    addedAt: Timestamp,
  }),
  ProductDetailsChanged: z.object({
    sku: Sku,
    name: z.string().optional(),
    description: z.string().optional(),
    category: z.string().optional(),
    changedAt: Timestamp,
  }),
  ProductPriceChanged: z.object({ sku: Sku, price: Money, previousPrice: Money, changedAt: Timestamp }),
  ProductDiscontinued: z.object({ sku: Sku, discontinuedAt: Timestamp }),
});

interface ProductFacts {
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  addedAt: string;
}

export type Product =
  | { status: 'absent' }
  | ({ status: 'active' } & ProductFacts)
  | ({ status: 'discontinued'; discontinuedAt: string } & ProductFacts);

/** A product that exists: for sale or discontinued. */
export type ListedProduct = Exclude<Product, { status: 'absent' }>;

export const initialState: Product = { status: 'absent' };

export const productStreamId = (sku: string): string => `product-${sku}`;

export function evolve(state: Product, event: ProductEvent): Product {
  switch (event.type) {
    case 'ProductAdded': {
      const { type: _type, ...facts } = event;
      return { status: 'active', ...facts };
    }
    case 'ProductDetailsChanged': {
      if (state.status === 'absent') return state;
      return {
        ...state,
        ...(event.name !== undefined ? { name: event.name } : {}),
        ...(event.description !== undefined ? { description: event.description } : {}),
        ...(event.category !== undefined ? { category: event.category } : {}),
      };
    }
    case 'ProductPriceChanged':
      return state.status === 'absent' ? state : { ...state, price: event.price };
    case 'ProductDiscontinued':
      return state.status === 'absent' ? state : { ...state, status: 'discontinued', discontinuedAt: event.discontinuedAt };
  }
}
