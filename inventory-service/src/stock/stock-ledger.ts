import { commitWork, StreamStateCache, UnitOfWork, type Cause, type EventStore, type Work } from '@shop/platform';
import { KeyedQueue } from '../shared/keyed-queue';
import { stockDecider, type StockCommand } from './decide';
import { levelsOf, type Stock, type StockLevels } from './stock';

export const stockStreamId = (sku: string): string => `stock-${sku}`;

/**
 * Every write to a `stock-<SKU>` stream goes through here.
 *
 * In a message handler, a decision is part of the handler's unit of work
 * (`executeIn`): the platform commits it with the rest of the page, and the
 * unit's stream cache means a hot SKU with thousands of events costs the same
 * to decide on as a fresh one. A write of its own (an admin's receipt,
 * `execute`) is decided and committed alone; within this process, writes to
 * one SKU wait in a per-SKU queue, so they never race each other, and across
 * processes a commit that finds the stream moved is decided again (bounded,
 * jittered), then gives up with a 409-class error.
 */
export class StockLedger {
  private readonly queue = new KeyedQueue();
  readonly cache: StreamStateCache;

  constructor(
    private readonly store: Pick<EventStore, 'readStreams' | 'commit'>,
    private readonly options: { cache?: StreamStateCache; maxAttempts?: number; cachedStreams?: number } = {},
  ) {
    this.cache = options.cache ?? new StreamStateCache(options.cachedStreams);
  }

  /** Decides on the SKU's stream within `work`; resolves to the SKU's state after the command (unchanged when nothing was decided). */
  async executeIn(work: Work, command: StockCommand): Promise<Stock> {
    return (await work.decide(stockStreamId(command.sku), stockDecider, command)).state;
  }

  /** Decides and commits alone. */
  async execute(command: StockCommand, cause: Partial<Cause> = {}): Promise<Stock> {
    const streamId = stockStreamId(command.sku);
    // A command that decides nothing at the current revision (a shortage, a
    // repeat, no hold to release) appends nothing, so it needs no turn in the
    // queue: under a rush on a sold-out SKU, refusals do not wait behind writes.
    const current = await this.current(command.sku);
    if (stockDecider.decide(command, current).length === 0) return current;
    return this.queue.run(streamId, async () => {
      const { value } = await commitWork(this.store, { metadata: {}, ...cause }, (work) => this.executeIn(work, command), {
        cache: this.cache,
        maxAttempts: this.options.maxAttempts ?? 20,
      });
      return value;
    });
  }

  /** Current levels read from the stream itself (always consistent); zeros for an unknown SKU. */
  async levels(sku: string): Promise<StockLevels> {
    return levelsOf(await this.current(sku));
  }

  private current(sku: string): Promise<Stock> {
    return new UnitOfWork(this.store, this.cache, { refreshCached: true }).load(stockStreamId(sku), stockDecider);
  }
}
