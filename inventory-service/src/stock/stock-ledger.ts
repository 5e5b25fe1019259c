import { executeCommand, type EventStore } from '@shop/platform';
import { eventIds, type CommandContext } from '../shared/command-context';
import { KeyedQueue } from '../shared/keyed-queue';
import { StreamSnapshots } from '../shared/stream-snapshots';
import { decide, type StockCommand } from './decide';
import { levelsOf, stockDecider, type Stock, type StockEvent, type StockLevels } from './stock';

export const stockStreamId = (sku: string): string => `stock-${sku}`;

/**
 * Every write to a `stock-<SKU>` stream goes through here.
 *
 * Hot SKUs: within this process, writes to one SKU wait in a per-SKU queue,
 * so they never race each other; across processes, `executeCommand` appends
 * at the revision it read and retries a conflict a bounded number of times
 * with jitter, then gives up with a 409-class error (the bus redelivers a
 * command later; an HTTP caller gets a problem response). The state is read
 * from an in-memory snapshot plus the events since, so each decision costs
 * one short read however long the stream is.
 */
export class StockLedger {
  private readonly snapshots: StreamSnapshots<Stock, StockEvent>;
  private readonly queue = new KeyedQueue();

  constructor(
    store: EventStore,
    private readonly options: { maxAttempts?: number; cachedStreams?: number } = {},
  ) {
    this.snapshots = new StreamSnapshots(store, stockDecider, options.cachedStreams);
  }

  /** Decides and appends; resolves to the SKU's state after the command (unchanged when nothing was decided). */
  async execute(command: StockCommand, context: CommandContext = {}): Promise<Stock> {
    const streamId = stockStreamId(command.sku);
    // A command that decides nothing at the current revision (a shortage, a
    // repeat, no hold to release) appends nothing, so it needs no turn in the
    // queue: under a rush on a sold-out SKU, refusals do not wait behind writes.
    const current = await this.snapshots.load(streamId);
    if (decide(current.state, command).length === 0) return current.state;
    return this.queue.run(streamId, async () => {
      const outcome = await executeCommand({
        store: this.snapshots.store,
        streamId,
        decider: this.snapshots.decider,
        decide: (state) => decide(state, command),
        eventId: eventIds(context, streamId, command.type),
        ...(context.metadata ? { metadata: context.metadata } : {}),
        maxAttempts: this.options.maxAttempts ?? 20,
      });
      return outcome.state;
    });
  }

  /** Current levels read from the stream itself (always consistent); zeros for an unknown SKU. */
  async levels(sku: string): Promise<StockLevels> {
    return levelsOf((await this.snapshots.load(stockStreamId(sku))).state);
  }
}
