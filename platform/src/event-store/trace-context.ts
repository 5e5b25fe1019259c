import { activeCarrier, tracingEnabled } from '../observability/tracing';
import type { EventToAppend } from './event-store';

/**
 * Events stored with the trace context of the span active when they are
 * appended, unless they carry one (a message handler's events carry their
 * message's process span): what the outbox relay's publish span continues.
 * Every adapter stores events through this, so a trace crosses either store.
 */
export function withTraceContext<E extends EventToAppend>(events: readonly E[]): E[] {
  if (!tracingEnabled()) return events as E[];
  const carrier = activeCarrier();
  if (!carrier.traceparent) return events as E[];
  return events.map((e) => (e.metadata?.traceparent ? e : { ...e, metadata: { ...e.metadata, ...carrier } }));
}
