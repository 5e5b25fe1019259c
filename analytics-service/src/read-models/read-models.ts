import { ConflictError, NotFoundError, type ProjectionRunner, type ProjectionStatus } from '@shop/platform';

export const PROJECTION_NAMES = ['order_funnel', 'revenue', 'product_sales', 'stock_levels', 'live_orders', 'saga_durations', 'alerts'] as const;
export type ProjectionName = (typeof PROJECTION_NAMES)[number];

/**
 * The projection runners, by name, and the read-your-writes wait: a read that
 * names an archive position waits (bounded) until the projection it reads
 * has reached it, else answers 409 with `Retry-After`.
 */
export class ReadModels {
  private readonly byName: Map<string, ProjectionRunner>;

  constructor(
    readonly runners: ProjectionRunner[],
    private readonly options: { waitTimeoutMs: number; pollMs?: number },
  ) {
    this.byName = new Map(runners.map((r) => [r.projection.name, r]));
  }

  runner(name: string): ProjectionRunner {
    const runner = this.byName.get(name);
    if (!runner) throw new NotFoundError(`no projection named ${name}`);
    return runner;
  }

  status(): Promise<ProjectionStatus[]> {
    return Promise.all(this.runners.map((r) => r.status()));
  }

  /** Resolves once every named projection reflects the archive up to `minPosition`. */
  async reached(names: readonly ProjectionName[], minPosition: number | undefined): Promise<void> {
    if (minPosition === undefined || minPosition <= 0) return;
    const deadline = Date.now() + this.options.waitTimeoutMs;
    for (;;) {
      const statuses = await Promise.all(names.map((n) => this.runner(n).status()));
      const behind = statuses.filter((s) => s.position < minPosition);
      if (behind.length === 0) return;
      if (Date.now() >= deadline) {
        throw new ConflictError(
          `projection ${behind.map((s) => s.name).join(', ')} has not reached position ${minPosition} yet`,
          { minPosition, positions: Object.fromEntries(behind.map((s) => [s.name, s.position])) },
          1,
        );
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 50));
    }
  }
}
