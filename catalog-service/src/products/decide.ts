import type { Money } from '@shop/contracts';
import { ConflictError, NotFoundError, type Decider } from '@shop/platform';
import { evolve, initialState, productCodec, type Product, type ProductEvent } from './product';

export interface AddProduct {
  type: 'AddProduct';
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  now: string;
}

export interface ChangeProductDetails {
  type: 'ChangeProductDetails';
  sku: string;
  name?: string;
  description?: string;
  category?: string;
  now: string;
}

export interface ChangePrice {
  type: 'ChangePrice';
  sku: string;
  price: Money;
  now: string;
}

export interface DiscontinueProduct {
  type: 'DiscontinueProduct';
  sku: string;
  now: string;
}

export type ProductCommand = AddProduct | ChangeProductDetails | ChangePrice | DiscontinueProduct;

const notFound = (sku: string) => new NotFoundError(`product ${sku} does not exist`, { sku });

/** A SKU names one product forever: adding it again is a conflict, not an update. */
export function addProduct(command: AddProduct, state: Product): ProductEvent[] {
  if (state.status !== 'absent') {
    throw new ConflictError(`product ${command.sku} already exists`, { sku: command.sku, status: state.status });
  }
  const { sku, name, description, category, price, now } = command;
  return [{ type: 'ProductAdded', sku, name, description, category, price, addedAt: now }];
}

/**
 * Records only the fields that differ; a change to nothing decides nothing.
 * A discontinued product is read-only: its page keeps what it was sold as.
 */
export function changeProductDetails(command: ChangeProductDetails, state: Product): ProductEvent[] {
  if (state.status === 'absent') throw notFound(command.sku);
  if (state.status === 'discontinued') {
    throw new ConflictError(`product ${command.sku} is discontinued; its details can no longer change`, { sku: command.sku });
  }
  const changes = {
    ...(command.name !== undefined && command.name !== state.name ? { name: command.name } : {}),
    ...(command.description !== undefined && command.description !== state.description ? { description: command.description } : {}),
    ...(command.category !== undefined && command.category !== state.category ? { category: command.category } : {}),
  };
  if (Object.keys(changes).length === 0) return [];
  return [{ type: 'ProductDetailsChanged', sku: command.sku, ...changes, changedAt: command.now }];
}

/**
 * The same price decides nothing. A change of currency is allowed: a price is
 * a Money, and `previousPrice` tells consumers what it was; orders that mix
 * currencies are refused at pricing time, not here.
 */
export function changePrice(command: ChangePrice, state: Product): ProductEvent[] {
  if (state.status === 'absent') throw notFound(command.sku);
  if (state.status === 'discontinued') {
    throw new ConflictError(`product ${command.sku} is discontinued; its price can no longer change`, { sku: command.sku });
  }
  if (state.price.amount === command.price.amount && state.price.currency === command.price.currency) return [];
  return [{ type: 'ProductPriceChanged', sku: command.sku, price: command.price, previousPrice: state.price, changedAt: command.now }];
}

/** Discontinuing twice decides nothing: the product is already off sale. */
export function discontinueProduct(command: DiscontinueProduct, state: Product): ProductEvent[] {
  if (state.status === 'absent') throw notFound(command.sku);
  if (state.status === 'discontinued') return [];
  return [{ type: 'ProductDiscontinued', sku: command.sku, discontinuedAt: command.now }];
}

export function decide(command: ProductCommand, state: Product): ProductEvent[] {
  switch (command.type) {
    case 'AddProduct':
      return addProduct(command, state);
    case 'ChangeProductDetails':
      return changeProductDetails(command, state);
    case 'ChangePrice':
      return changePrice(command, state);
    case 'DiscontinueProduct':
      return discontinueProduct(command, state);
  }
}

/** The product aggregate: its commands decided on the state folded from its stream, read back through its codec. */
export const productDecider: Decider<ProductCommand, Product, ProductEvent> = { initialState, evolve, decide, codec: productCodec };
