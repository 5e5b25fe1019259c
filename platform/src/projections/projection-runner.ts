import type { Knex } from 'knex';
import type { EventStore, LogPage, RecordedEvent, Subscription } from '../event-store/event-store';
import { applyEvents, assertProjectionShape, type Projection, type ProjectionContext, type ProjectionStatus } from './projection';
import { projectionMigrations } from './projection-migrations';
import { runMigrations } from '../persistence/migrations';

type Slot = 'live' | 'shadow';

const SHADOW_SUFFIX = '__rebuild';
const RETIRED_SUFFIX = '__retired';

export interface RebuildProgress {
  position: number;
  head: number;
  eventsApplied: number;
}

export interface RebuildResult {
  position: number;
  eventsApplied: number;
  checksum: string;
}

/**
 * Runs one projection against the read-model database `db`.
 *
 * Every page is applied in one transaction that first locks the projection's
 * checkpoint row, then writes rows, then moves the checkpoint: rows and
 * checkpoint commit together, and two runners of the same projection (two
 * instances of a service) take turns instead of applying an event twice.
 */
export class ProjectionRunner {
  private subscription: Subscription | undefined;
  /** Where this runner's subscription believes the live checkpoint is. */
  private livePosition = 0;
  private stopped = true;
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly store: EventStore,
    readonly projection: Projection,
    private readonly options: { batchSize?: number; onError?: (err: unknown) => void } = {},
  ) {
    assertProjectionShape(projection);
  }

  /** Creates the checkpoint table, the live tables and the live checkpoint if missing. */
  async init(): Promise<void> {
    await runMigrations(this.db, 'projections', projectionMigrations);
    await this.db.transaction(async (trx) => {
      // Serialise concurrent inits of the same projection.
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`projection:${this.projection.name}`]);
      for (const [logical, ddl] of Object.entries(this.projection.tables)) {
        if (!(await trx.schema.hasTable(logical))) await trx.raw(ddl(logical));
      }
      await trx('projection_checkpoints')
        .insert({ projection: this.projection.name, slot: 'live', position: 0 })
        .onConflict(['projection', 'slot'])
        .ignore();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.subscribe();
  }

  private async subscribe(): Promise<void> {
    this.livePosition = await this.checkpoint('live');
    const sub = this.store.subscribeToAll({
      fromPosition: this.livePosition,
      filter: this.projection.filter,
      withMetadata: this.projection.readsMetadata !== false,
      batchSize: this.options.batchSize ?? 500,
      onPage: (page) => this.applyLivePage(page),
    });
    this.subscription = sub;
    sub.done.catch((err: unknown) => {
      if (this.stopped || this.subscription !== sub) return;
      this.options.onError?.(err);
      // Resume from the stored checkpoint after a short pause.
      this.restarting = new Promise<void>((r) => setTimeout(r, 500))
        .then(() => (this.stopped ? undefined : this.subscribe()))
        .catch((e: unknown) => this.options.onError?.(e));
    });
  }

  private async applyLivePage(page: LogPage): Promise<void> {
    const stored = await this.applyPage('live', page);
    if (stored < this.livePosition) {
      // The checkpoint went backwards under us (someone reset it): start again from it.
      throw new Error(`checkpoint of ${this.projection.name} moved back to ${stored}`);
    }
    this.livePosition = Math.max(stored, page.scannedTo);
  }

  /**
   * Applies the events of `page` that lie after the slot's stored checkpoint,
   * in one transaction with the new checkpoint. Returns the checkpoint found.
   */
  private async applyPage(slot: Slot, page: LogPage, trx?: Knex.Transaction): Promise<number> {
    const run = async (t: Knex.Transaction) => {
      const row = (await t('projection_checkpoints')
        .where({ projection: this.projection.name, slot })
        .forUpdate()
        .first('position')) as { position: string } | undefined;
      if (!row) throw new Error(`no ${slot} checkpoint for projection ${this.projection.name}`);
      const stored = Number(row.position);
      const fresh = page.events[0] && page.events[0].position > stored ? page.events : page.events.filter((e) => e.position > stored);
      await applyEvents(this.projection, fresh, this.context(t, slot));
      if (page.scannedTo > stored) {
        await t('projection_checkpoints')
          .where({ projection: this.projection.name, slot })
          .update({ position: page.scannedTo, updated_at: t.fn.now() });
      }
      return stored;
    };
    return trx ? run(trx) : this.db.transaction(run);
  }

  private context(trx: Knex.Transaction, slot: Slot): ProjectionContext {
    const tables = this.projection.tables;
    return {
      trx,
      table: (logical) => {
        if (!(logical in tables)) throw new Error(`projection ${this.projection.name} has no table "${logical}"`);
        return slot === 'live' ? logical : logical + SHADOW_SUFFIX;
      },
    };
  }

  /**
   * For a fan-out that applies several projections' pages in one
   * transaction (`LogFanOut`): applies `events` (already those after the
   * stored checkpoint, in log order) to the live tables through `trx`.
   * The caller locked and will move the checkpoint row in the same transaction.
   */
  async applyLiveEventsIn(trx: Knex.Transaction, events: RecordedEvent[]): Promise<void> {
    await applyEvents(this.projection, events, this.context(trx, 'live'));
  }

  /** Applies a page to the live tables in a transaction of its own (rows and checkpoint together); returns the checkpoint after it. */
  async applyLivePageAlone(page: LogPage): Promise<number> {
    const stored = await this.applyPage('live', page);
    return Math.max(stored, page.scannedTo);
  }

  /** The live checkpoint as stored. */
  liveCheckpoint(): Promise<number> {
    return this.checkpoint('live');
  }

  private async checkpoint(slot: Slot): Promise<number> {
    const row = (await this.db('projection_checkpoints')
      .where({ projection: this.projection.name, slot })
      .first('position')) as { position: string } | undefined;
    return row ? Number(row.position) : 0;
  }

  /**
   * Rebuilds the projection into shadow tables while the live tables keep
   * serving reads and following the log; when the shadow has caught up, it is
   * swapped in by renaming, in one short transaction.
   *
   * Without `fromPosition` (or with 0) the shadow starts empty at position 0.
   * With `fromPosition` N > 0 the shadow starts as a copy of the live tables
   * (`create table … (like … including all)` + `insert … select`, taken while
   * holding the live checkpoint row, so the copy is consistent with the live
   * checkpoint L) and its checkpoint starts at N: the events after N are
   * applied again onto that copy, which is only correct because projection
   * handlers are idempotent. N must not be beyond L (the copy would miss the
   * events between L and N), else this throws before changing anything.
   * The copy shares nothing with the live tables except column defaults:
   * projections whose tables use serial/identity columns must rebuild from 0.
   */
  async rebuild(
    options: { onProgress?: (p: RebuildProgress) => void; batchSize?: number; fromPosition?: number } = {},
  ): Promise<RebuildResult> {
    const name = this.projection.name;
    // Large pages: a rebuild reads far more than it writes, and a projection
    // with `applyBatch` writes a page in a few statements whatever its size.
    const batchSize = options.batchSize ?? 10_000;
    const from = options.fromPosition ?? 0;
    if (!Number.isInteger(from) || from < 0) throw new Error(`fromPosition must be a non-negative integer, got ${from}`);
    await this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`projection:${name}`]);
      if (from > 0) {
        // Pause the live runner while copying, so the copy matches the live checkpoint.
        const live = (await trx('projection_checkpoints')
          .where({ projection: name, slot: 'live' })
          .forUpdate()
          .first('position')) as { position: string } | undefined;
        const livePosition = Number(live?.position ?? 0);
        if (livePosition < from) {
          throw new Error(`cannot rebuild ${name} from position ${from}: its live tables are only at position ${livePosition}`);
        }
      }
      for (const [logical, ddl] of Object.entries(this.projection.tables)) {
        await trx.raw(`drop table if exists ${logical + SHADOW_SUFFIX}`);
        if (from > 0) {
          await trx.raw(`create table ${logical + SHADOW_SUFFIX} (like ${logical} including all)`);
          await trx.raw(`insert into ${logical + SHADOW_SUFFIX} select * from ${logical}`);
        } else {
          await trx.raw(ddl(logical + SHADOW_SUFFIX));
        }
      }
      await trx('projection_checkpoints').where({ projection: name, slot: 'shadow' }).delete();
      await trx('projection_checkpoints').insert({ projection: name, slot: 'shadow', position: from });
    });

    let position = from;
    let applied = 0;
    const read = (after: number): Promise<LogPage> => {
      const page = this.store.readAll({
        fromPosition: after,
        maxCount: batchSize,
        filter: this.projection.filter,
        withMetadata: this.projection.readsMetadata !== false,
      });
      // A prefetched page nobody awaits (the apply before it failed) must not become an unhandled rejection.
      page.catch(() => undefined);
      return page;
    };
    const step = async (page: LogPage, trx?: Knex.Transaction): Promise<boolean> => {
      await this.applyPage('shadow', page, trx);
      applied += page.events.length;
      position = page.scannedTo;
      options.onProgress?.({ position, head: await this.store.headPosition(), eventsApplied: applied });
      return page.events.length >= batchSize;
    };
    // Catch up without holding anything the live runner needs, reading the
    // next page while the current one is written (the store and the read
    // models use different connections).
    let next = read(position);
    for (;;) {
      const page = await next;
      const full = page.events.length >= batchSize;
      if (full) next = read(page.scannedTo);
      await step(page);
      if (!full) break;
    }

    let checksum = '';
    await this.db.transaction(async (trx) => {
      // Holding the live checkpoint row pauses the live runner (its next page
      // waits here); catch up the last few events, then swap.
      await trx('projection_checkpoints').where({ projection: name, slot: 'live' }).forUpdate().first();
      while (await step(await read(position), trx));
      for (const logical of Object.keys(this.projection.tables)) {
        await trx.raw(`alter table ${logical} rename to ${logical + RETIRED_SUFFIX}`);
        await trx.raw(`alter table ${logical + SHADOW_SUFFIX} rename to ${logical}`);
        await trx.raw(`drop table ${logical + RETIRED_SUFFIX}`);
      }
      await trx('projection_checkpoints')
        .where({ projection: name, slot: 'live' })
        .update({ position, updated_at: trx.fn.now() });
      await trx('projection_checkpoints').where({ projection: name, slot: 'shadow' }).delete();
      checksum = await checksumTables(trx, Object.keys(this.projection.tables));
    });
    return { position, eventsApplied: applied, checksum };
  }

  async status(): Promise<ProjectionStatus> {
    const rows = (await this.db('projection_checkpoints')
      .where({ projection: this.projection.name })
      .select('slot', 'position')) as { slot: Slot; position: string }[];
    const live = Number(rows.find((r) => r.slot === 'live')?.position ?? 0);
    const shadow = rows.find((r) => r.slot === 'shadow');
    const head = await this.store.headPosition();
    return {
      name: this.projection.name,
      state: shadow ? 'rebuilding' : 'live',
      position: live,
      head,
      lag: Math.max(0, head - live),
      ...(shadow ? { rebuildPosition: Number(shadow.position) } : {}),
    };
  }

  /** Events behind the head: the value a lag gauge reads. */
  async lag(): Promise<number> {
    return (await this.status()).lag;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.restarting;
    await this.subscription?.stop();
    this.subscription = undefined;
  }
}

/**
 * An order-independent digest of the tables' contents, to compare a rebuilt
 * read model with a from-scratch one.
 */
export async function checksumTables(db: Knex | Knex.Transaction, tables: string[]): Promise<string> {
  const parts: string[] = [];
  for (const table of [...tables].sort()) {
    const res = (await db.raw(
      `select coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), md5('')) as digest, count(*) as n from ${table} t`,
    )) as { rows: { digest: string; n: string }[] };
    parts.push(`${table}:${res.rows[0]!.n}:${res.rows[0]!.digest}`);
  }
  const res = (await db.raw('select md5(?) as digest', [parts.join('|')])) as { rows: { digest: string }[] };
  return res.rows[0]!.digest;
}
