import type { Knex } from 'knex';
import { matchesFilter, type EventStore, type LogFilter, type LogPage, type RecordedEvent, type Subscription } from '../event-store/event-store';
import type { OutboxRelay } from '../outbox/outbox-relay';
import type { ProjectionRunner } from './projection-runner';

export interface LogFanOutOptions {
  store: EventStore;
  /** The service's database: projections' tables and checkpoints. */
  db: Knex;
  projections?: ProjectionRunner[];
  relay?: OutboxRelay;
  /** Events per page of the shared subscription. */
  batchSize?: number;
  /** Pause before a member that failed catches up again. */
  retryMs?: number;
  onError?: (err: unknown, member: string) => void;
}

type MemberMode = 'inline' | 'catching-up' | 'idle';

interface Member {
  name: string;
  filter: LogFilter | undefined;
  readsMetadata: boolean;
  /** Its checkpoint as last known: every event at or before it is done. */
  position: number;
  mode: MemberMode;
  runner?: ProjectionRunner;
  relay?: OutboxRelay;
}

export interface LogFanOutStatus {
  position: number;
  pages: number;
  members: { name: string; mode: MemberMode; position: number }[];
}

/**
 * One subscription to a service's log feeding every projection of the
 * service and its outbox relay, instead of one poller (and one wake-up per
 * append) each.
 *
 * Each page goes, at the same time, to the relay (when this instance leads:
 * publish, then move its checkpoint) and to the projections, which are all
 * applied in one transaction: their checkpoint rows locked in one statement,
 * each projection's events after its own stored checkpoint applied, the
 * checkpoints moved in one statement, one commit. Rows and checkpoints
 * still commit together, and two instances of a service take turns on the
 * checkpoint rows as before.
 *
 * A member that falls out of step (a failure, a relay that just became
 * leader, a projection whose checkpoint is behind the page) leaves the shared
 * pages and catches up on its own, reading from its checkpoint with backoff;
 * once it has reached the shared subscription it joins again. So a broken
 * projection delays neither the relay nor the others.
 */
export class LogFanOut {
  private readonly members: Member[] = [];
  private subscription: Subscription | undefined;
  private position = 0;
  private stopped = true;
  private pages = 0;
  private restarting: NodeJS.Timeout | undefined;
  private readonly catchingUp = new Set<Promise<void>>();
  private readonly lanes: Lane[];

  constructor(private readonly options: LogFanOutOptions) {
    for (const runner of options.projections ?? []) {
      this.members.push({
        name: `projection ${runner.projection.name}`,
        filter: runner.projection.filter,
        readsMetadata: runner.projection.readsMetadata !== false,
        position: 0,
        mode: 'inline',
        runner,
      });
    }
    if (options.relay) {
      this.members.push({ name: `relay ${options.relay.name}`, filter: options.relay.filter, readsMetadata: true, position: 0, mode: 'idle', relay: options.relay });
    }
    this.lanes = [
      lane(async (page, from) => {
        const projections = this.inStep(from, 'runner');
        if (projections.length > 0) await this.applyProjections(projections, page, from);
      }),
      lane(async (page, from) => {
        const [relay] = this.inStep(from, 'relay');
        if (relay) await this.relayPage(relay, page);
      }),
    ];
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (const m of this.members) {
      if (!m.runner) continue;
      await m.runner.init();
      m.position = await m.runner.liveCheckpoint();
    }
    const inline = this.members.filter((m) => m.mode === 'inline');
    this.position = inline.length > 0 ? Math.min(...inline.map((m) => m.position)) : 0;
    this.subscribe();
    const relayMember = this.members.find((m) => m.relay);
    if (relayMember) {
      await relayMember.relay!.startLeadership((leader) => {
        if (!leader) {
          relayMember.mode = 'idle';
          return;
        }
        // A new leader starts from the stored checkpoint, on its own until it is in step.
        void relayMember.relay!.checkpoint().then(
          (position) => {
            relayMember.position = position;
            this.catchUp(relayMember);
          },
          (err: unknown) => this.options.onError?.(err, relayMember.name),
        );
      });
    }
  }

  private subscribe(): void {
    if (this.stopped) return;
    const inline = this.members.filter((m) => m.mode !== 'idle' || m.relay);
    const sub = this.options.store.subscribeToAll({
      fromPosition: this.position,
      filter: unionFilter(inline.map((m) => m.filter)),
      withMetadata: this.withMetadata,
      batchSize: this.options.batchSize ?? 1_000,
      onPage: (page) => this.dispatch(page),
    });
    this.subscription = sub;
    sub.done.catch((err: unknown) => {
      if (this.stopped || this.subscription !== sub) return;
      this.options.onError?.(err, 'log fan-out');
      this.restarting = setTimeout(() => this.subscribe(), this.options.retryMs ?? 500);
    });
  }

  /**
   * Metadata for every event when a projection reads it; else only for the
   * events the relay publishes (their message attributes come from it).
   */
  private get withMetadata(): boolean | LogFilter {
    if (this.members.some((m) => m.runner && m.readsMetadata)) return true;
    const relay = this.members.find((m) => m.relay);
    return relay ? (relay.filter ?? true) : false;
  }

  /**
   * One page of the shared subscription, queued for the relay and for the
   * projections, which each work through their queue on their own: the
   * relay does not wait for the projections' transaction (nor they for a
   * publish), and whichever falls behind takes the pages queued meanwhile
   * as one, so its batches grow with the load. The subscription reads on
   * while neither queue holds more than a few pages.
   */
  private async dispatch(page: LogPage): Promise<void> {
    const from = this.position;
    this.pages++;
    this.position = Math.max(this.position, page.scannedTo);
    for (const lane of this.lanes) {
      lane.queue.push({ page, from });
      this.drain(lane);
    }
    for (const lane of this.lanes) {
      while (lane.queue.length > MAX_QUEUED_PAGES && !this.stopped) await lane.progress();
    }
  }

  private drain(lane: Lane): void {
    if (lane.running) return;
    lane.running = (async () => {
      while (lane.queue.length > 0) {
        const taken = lane.queue.splice(0);
        const merged: LogPage = { events: taken.flatMap((t) => t.page.events), scannedTo: taken[taken.length - 1]!.page.scannedTo };
        try {
          await lane.process(merged, taken[0]!.from);
        } catch (err) {
          // Members handle their own failures (they fall back to catching up); this is a defect, not data.
          this.options.onError?.(err, 'log fan-out');
        }
        lane.moved();
      }
    })().finally(() => {
      lane.running = undefined;
      lane.moved();
    });
  }

  /** The members in step with a page that starts after `from`; the others go and catch up. */
  private inStep(from: number, kind: 'runner' | 'relay'): Member[] {
    const inline: Member[] = [];
    for (const m of this.members) {
      if (m.mode !== 'inline' || !m[kind]) continue;
      if (m.position < from) {
        // Behind the page: it would miss the events in between.
        this.catchUp(m);
        continue;
      }
      inline.push(m);
    }
    return inline;
  }

  private async applyProjections(members: Member[], page: LogPage, from: number): Promise<void> {
    const names = members.map((m) => m.runner!.projection.name);
    const moved = new Map<Member, number>();
    const behind: Member[] = [];
    try {
      await this.options.db.transaction(async (trx) => {
        const rows = (await trx('projection_checkpoints').where('slot', 'live').whereIn('projection', names).forUpdate().select('projection', 'position')) as {
          projection: string;
          position: string;
        }[];
        const stored = new Map(rows.map((r) => [r.projection, Number(r.position)]));
        const updates: { projection: string; position: number }[] = [];
        for (const m of members) {
          const name = m.runner!.projection.name;
          const at = stored.get(name);
          if (at === undefined || at < from) {
            // Its checkpoint went back (a reset) or was never in step: it catches up alone.
            behind.push(m);
            continue;
          }
          const events = eventsFor(m, page.events, at);
          if (events.length > 0) await m.runner!.applyLiveEventsIn(trx, events);
          if (page.scannedTo > at) updates.push({ projection: name, position: page.scannedTo });
          moved.set(m, Math.max(at, page.scannedTo));
        }
        if (updates.length > 0) {
          await trx.raw(
            `update projection_checkpoints c set position = u.position, updated_at = now()
             from unnest(?::text[], ?::bigint[]) as u(projection, position)
             where c.projection = u.projection and c.slot = 'live' and c.position < u.position`,
            [updates.map((u) => u.projection), updates.map((u) => u.position)],
          );
        }
      });
    } catch (err) {
      // One projection's failure rolled back all of them: each on its own, so only the broken one falls behind.
      for (const m of members) {
        try {
          m.position = await m.runner!.applyLivePageAlone({ events: eventsFor(m, page.events, m.position), scannedTo: page.scannedTo });
        } catch (own) {
          this.options.onError?.(own, m.name);
          this.catchUp(m, this.options.retryMs ?? 500);
        }
      }
      if (members.every((m) => m.mode === 'inline')) this.options.onError?.(err, 'projections (applied one by one after a joint failure)');
      return;
    }
    for (const [m, position] of moved) m.position = position;
    for (const m of behind) this.catchUp(m);
  }

  private async relayPage(m: Member, page: LogPage): Promise<void> {
    try {
      await m.relay!.relayEvents(eventsFor(m, page.events, m.position), page.scannedTo, { withMetadata: this.withMetadata !== false });
      m.position = Math.max(m.position, page.scannedTo);
    } catch (err) {
      this.options.onError?.(err, m.name);
      if (m.mode === 'inline') this.catchUp(m, this.options.retryMs ?? 500);
    }
  }

  /** Takes the member off the shared pages until it has read up to them on its own. */
  private catchUp(m: Member, delayMs = 0): void {
    if (m.mode === 'catching-up' || this.stopped) return;
    m.mode = 'catching-up';
    const run = this.runCatchUp(m, delayMs).finally(() => this.catchingUp.delete(run));
    this.catchingUp.add(run);
  }

  private async runCatchUp(m: Member, delayMs: number): Promise<void> {
    const batchSize = this.options.batchSize ?? 1_000;
    let pause = delayMs;
    while (!this.stopped && m.mode === 'catching-up') {
      if (pause > 0) await new Promise((r) => setTimeout(r, pause).unref());
      if (this.stopped || m.mode !== 'catching-up') return;
      try {
        if (m.runner) m.position = await m.runner.liveCheckpoint();
        const page = await this.options.store.readAll({ fromPosition: m.position, maxCount: batchSize, filter: m.filter, withMetadata: m.readsMetadata });
        if (m.runner) m.position = await m.runner.applyLivePageAlone(page);
        else {
          await m.relay!.relayEvents(page.events, page.scannedTo, { withMetadata: true });
          m.position = Math.max(m.position, page.scannedTo);
        }
        pause = 0;
        // Caught up with the shared subscription: from its next page on, in step (no await since the check).
        if (page.events.length < batchSize && m.position >= this.position) {
          if (m.relay && !m.relay.isLeader) m.mode = 'idle';
          else m.mode = 'inline';
          return;
        }
      } catch (err) {
        if (m.relay && !m.relay.isLeader) {
          m.mode = 'idle';
          return;
        }
        this.options.onError?.(err, m.name);
        pause = Math.min(Math.max(pause * 2, this.options.retryMs ?? 500), 10_000);
      }
    }
  }

  status(): LogFanOutStatus {
    return { position: this.position, pages: this.pages, members: this.members.map((m) => ({ name: m.name, mode: m.mode, position: m.position })) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restarting) clearTimeout(this.restarting);
    for (const l of this.lanes) l.moved();
    await this.subscription?.stop();
    this.subscription = undefined;
    // What was read is still published and applied (else it would be again, after a restart, from the checkpoints).
    await Promise.all(this.lanes.map((l) => l.running));
    await Promise.all([...this.catchingUp]);
    await this.options.relay?.stop();
  }
}

/** Pages a lane may have waiting before the shared subscription stops reading. */
const MAX_QUEUED_PAGES = 4;

/** A queue of pages for one kind of member (the projections, the relay) and the worker that empties it. */
interface Lane {
  queue: { page: LogPage; from: number }[];
  running: Promise<void> | undefined;
  process(page: LogPage, from: number): Promise<void>;
  /** Resolves the next time the lane takes pages off its queue. */
  progress(): Promise<void>;
  moved(): void;
}

function lane(process: (page: LogPage, from: number) => Promise<void>): Lane {
  let waiters: (() => void)[] = [];
  return {
    queue: [],
    running: undefined,
    process,
    progress: () => new Promise<void>((r) => waiters.push(r)),
    moved: () => {
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    },
  };
}

/** The events of a page a member takes: after its checkpoint, through its filter. */
function eventsFor(m: Member, events: RecordedEvent[], after: number): RecordedEvent[] {
  return events.filter((e) => e.position > after && (!m.filter || matchesFilter(m.filter, e)));
}

/**
 * A filter that lets through every event any of the filters does (members
 * filter their share again): categories, types or a prefix are kept only
 * when every member restricts by them.
 */
export function unionFilter(filters: (LogFilter | undefined)[]): LogFilter | undefined {
  if (filters.length === 0 || filters.some((f) => !f)) return undefined;
  const all = filters as LogFilter[];
  const union: LogFilter = {};
  if (all.every((f) => f.categories && f.categories.length > 0)) union.categories = [...new Set(all.flatMap((f) => f.categories!))];
  if (all.every((f) => f.types && f.types.length > 0)) union.types = [...new Set(all.flatMap((f) => f.types!))];
  const prefixes = new Set(all.map((f) => f.streamPrefix));
  if (prefixes.size === 1 && [...prefixes][0]) union.streamPrefix = [...prefixes][0]!;
  return Object.keys(union).length > 0 ? union : undefined;
}
