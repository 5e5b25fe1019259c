import type { Money } from '@shop/contracts';
import { executeCommand, foldEvents, NotFoundError, type Clock, type EventMetadata, type EventStore, type StreamStateCache } from '@shop/platform';
import { productDecider, type ProductCommand } from './decide';
import { productStreamId, type ListedProduct, type Product } from './product';

type Input<C extends ProductCommand['type']> = Omit<Extract<ProductCommand, { type: C }>, 'type' | 'now'>;

/**
 * Runs the product commands against the product's stream: load, decide,
 * append with the revision read; a concurrent writer makes it load and decide
 * again (bounded, jittered retries in `executeCommand`), so every decision is
 * taken against the latest state.
 */
export class Catalog {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    /** The process's stream cache (order pricing reads products through it): a write drops the product's entry. */
    private readonly cache?: StreamStateCache,
  ) {}

  add(input: Input<'AddProduct'>, metadata?: EventMetadata): Promise<ListedProduct> {
    return this.run({ type: 'AddProduct', ...input, now: this.now() }, metadata);
  }

  changeDetails(input: Input<'ChangeProductDetails'>, metadata?: EventMetadata): Promise<ListedProduct> {
    return this.run({ type: 'ChangeProductDetails', ...input, now: this.now() }, metadata);
  }

  changePrice(input: { sku: string; price: Money }, metadata?: EventMetadata): Promise<ListedProduct> {
    return this.run({ type: 'ChangePrice', ...input, now: this.now() }, metadata);
  }

  discontinue(input: { sku: string }, metadata?: EventMetadata): Promise<ListedProduct> {
    return this.run({ type: 'DiscontinueProduct', ...input, now: this.now() }, metadata);
  }

  /** Read from the stream, not the read model: always the latest state. */
  async get(sku: string): Promise<ListedProduct> {
    const product = await loadProduct(this.store, sku);
    if (product.status === 'absent') throw new NotFoundError(`product ${sku} does not exist`, { sku });
    return product;
  }

  private async run(command: ProductCommand, metadata?: EventMetadata): Promise<ListedProduct> {
    const { state } = await executeCommand({
      store: this.store,
      streamId: productStreamId(command.sku),
      decider: productDecider,
      command,
      ...(metadata ? { metadata } : {}),
      ...(this.cache ? { cache: this.cache } : {}),
    });
    // Every command either throws for an absent product or leaves one behind.
    if (state.status === 'absent') throw new NotFoundError(`product ${command.sku} does not exist`, { sku: command.sku });
    return state;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

export async function loadProduct(store: EventStore, sku: string): Promise<Product> {
  return foldEvents(productDecider, productDecider.initialState, await store.readStream(productStreamId(sku)));
}
