import { eventStoreMetrics } from '../../observability/metrics';
import { WakeSignal } from '../../persistence/wake-signal';
import type { LogWakeups } from '../log-subscription';
import { END, streamNameFilter, type EventStoreDbClient } from './client';
import { toPortPosition } from './positions';

type LiveSubscription = ReturnType<EventStoreDbClient['subscribeToAll']>;

export interface LogDoorbellOptions {
  /** The stream-name regex of this store's scope (its prefix, no inbox or system streams). */
  scopeRegex: string;
  /** Where the log's head is now (the store's `headPosition`). */
  head: () => Promise<number>;
  /** How often the watchdog compares the head with what the live subscription delivered. */
  watchdogMs: number;
}

/**
 * A live `$all` subscription used only as a wake-up for `LogSubscription`:
 * it delivers nothing itself (positions come from reads alone, so gap safety
 * never depends on it), it only says "the log moved".
 *
 * EventStoreDB's subscriptions are ephemeral and have been seen to hang
 * without an error (KurrentDB#2632, #2545, #1602), so the doorbell heals
 * itself two ways: an `error` or `close` re-creates it from the end with a
 * backoff; a watchdog notices a head that moved past everything delivered
 * for a whole interval, counts `shop_eventstore_doorbell_missed_total`,
 * rings and re-creates it. A dead doorbell costs latency (the readers'
 * safety poll still reads), never an event.
 */
export class LogDoorbell implements LogWakeups {
  private live: LiveSubscription | undefined;
  private readonly wake = new WakeSignal();
  private delivered = 0;
  /** The head the previous watchdog tick saw; a miss is a head not delivered within one whole interval. */
  private headAtLastTick: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private failures = 0;
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly client: EventStoreDbClient,
    private readonly options: LogDoorbellOptions,
  ) {}

  ready(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  nextWake(): Promise<void> {
    return this.wake.next();
  }

  private async start(): Promise<void> {
    this.delivered = await this.options.head().catch(() => 0);
    this.subscribe();
    this.watchdog = setInterval(() => void this.check(), this.options.watchdogMs);
    this.watchdog.unref();
  }

  private subscribe(): void {
    if (this.stopped) return;
    // A new subscription starts at the end: what came before it is the readers' to find (the ring on loss), so the
    // watchdog measures it from its next tick only, instead of counting a miss for events it never could deliver.
    this.headAtLastTick = undefined;
    const live = this.client.subscribeToAll({ fromPosition: END, filter: streamNameFilter({ regex: this.options.scopeRegex }) });
    this.live = live;
    live.on('data', (resolved) => {
      this.failures = 0;
      const position = resolved.event?.position;
      if (position) {
        try {
          this.delivered = Math.max(this.delivered, toPortPosition(position));
        } catch {
          // Not an event the store can represent: the read that follows reports it.
        }
      }
      this.ring();
    });
    const lost = () => {
      if (this.live !== live || this.stopped) return;
      this.live = undefined;
      // Whatever happened while it was down is for the readers to find now.
      this.ring();
      this.failures++;
      this.reconnect = setTimeout(() => this.subscribe(), Math.min(100 * 2 ** this.failures, 5_000));
      this.reconnect.unref();
    };
    live.on('error', lost);
    live.on('close', lost);
  }

  private async check(): Promise<void> {
    if (this.stopped) return;
    let head: number;
    try {
      head = await this.options.head();
    } catch {
      return; // The server is unreachable: the subscription's own error handles that.
    }
    const previous = this.headAtLastTick;
    this.headAtLastTick = head;
    if (previous === undefined) {
      // The first tick of a (re)created subscription: what is in the log now came before it could deliver anything.
      this.delivered = Math.max(this.delivered, head);
      return;
    }
    if (this.delivered >= previous || this.live === undefined) return;
    // The head of one interval ago was never delivered: the subscription hangs.
    eventStoreMetrics.doorbellMissed.inc();
    this.ring();
    const hung = this.live;
    this.live = undefined;
    void hung.unsubscribe().catch(() => undefined);
    this.subscribe();
  }

  private ring(): void {
    this.wake.fire();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.reconnect);
    this.ring();
    const live = this.live;
    this.live = undefined;
    await live?.unsubscribe().catch(() => undefined);
  }
}
