import { eventStoreMetrics } from '../observability/metrics';

/** An event just stored, as commit observers see it. */
export interface CommittedEvent {
  streamId: string;
  type: string;
  data: unknown;
}

export type CommitListener = (events: readonly CommittedEvent[]) => void;

/**
 * What every adapter does after a successful write: count the events and
 * call the in-process listeners (`EventStore.onCommitted`: a service's own
 * metrics, such as sagas started and ended). A listener's failure is not
 * the writer's.
 */
export class CommitObservers {
  private readonly listeners = new Set<CommitListener>();

  add(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  committed(events: CommittedEvent[]): void {
    eventStoreMetrics.eventsAppended.inc(events.length);
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // An observer's failure is not the writer's.
      }
    }
  }
}
