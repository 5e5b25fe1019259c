/**
 * Group commit: concurrent callers' items are merged into one batch, written
 * by one transaction (one fsync), and each caller still gets its own result
 * or its own error.
 *
 * While a batch is in flight, new items queue up and form the next batch, so
 * batches grow with load and a lone caller pays only one round trip. The next
 * batch starts on the next turn of the event loop rather than synchronously:
 * callers whose items just completed get to submit their next item first, so
 * they join the batch instead of waiting a round.
 */
export type ItemOutcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface GroupCommitOptions<Item> {
  /** Batches in flight at once (1 gives the largest batches). */
  concurrency?: number;
  /** Upper bound on the summed weight of a batch. */
  maxBatchWeight?: number;
  weight?: (item: Item) => number;
  /** Items with the same key never share a batch: a later one waits for the next batch, keeping their order. */
  exclusiveKey?: (item: Item) => string;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (r: Result) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<Item, Result> {
  private readonly queue: Pending<Item, Result>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly concurrency: number;
  private readonly maxWeight: number;
  private readonly weight: (item: Item) => number;
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** Writes a batch; one outcome per item, in order. Throwing fails the batch as a whole. */
    private readonly write: (batch: Item[]) => Promise<ItemOutcome<Result>[]>,
    private readonly options: GroupCommitOptions<Item> = {},
  ) {
    this.concurrency = options.concurrency ?? 1;
    this.maxWeight = options.maxBatchWeight ?? Number.POSITIVE_INFINITY;
    this.weight = options.weight ?? (() => 1);
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const batch: Pending<Item, Result>[] = [];
      const skipped: Pending<Item, Result>[] = [];
      const keys = new Set<string>();
      let weight = 0;
      while (this.queue.length > 0) {
        const next = this.queue.shift()!;
        const w = this.weight(next.item);
        if (batch.length > 0 && weight + w > this.maxWeight) {
          skipped.push(next);
          break;
        }
        const key = this.options.exclusiveKey?.(next.item);
        if (key !== undefined && keys.has(key)) {
          skipped.push(next);
          continue;
        }
        if (key !== undefined) keys.add(key);
        batch.push(next);
        weight += w;
      }
      this.queue.unshift(...skipped);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        if (this.inFlight === 0 && this.queue.length === 0) for (const r of this.idleWaiters.splice(0)) r();
        this.schedule();
      });
    }
  }

  private async run(batch: Pending<Item, Result>[]): Promise<void> {
    let outcomes: ItemOutcome<Result>[];
    try {
      outcomes = await this.write(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length > 1) {
        // One bad item aborts the whole transaction: retry each on its own so
        // only the offender fails.
        for (const one of batch) await this.run([one]);
        return;
      }
      batch[0]!.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }
}
