import { AlertRaised, AlertResolved, buildMessage } from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { AlertEvent } from './alerts';

export const SOURCE = 'analytics-service';

/**
 * Stored alert event -> `analytics.alert-raised` / `analytics.alert-resolved`,
 * for the outbox relay; the message id is the stored event's id, so a relay
 * re-send carries the same id.
 */
export function alertEventToMessages(event: RecordedEvent): OutgoingMessage[] {
  const e = { type: event.type, ...(event.data as object) } as AlertEvent;
  const meta = { id: event.id, source: SOURCE, correlationId: event.streamId, time: event.recordedAt.toISOString() };
  if (e.type === 'AlertRaised') {
    const { type: _type, ruleVersion: _version, ...data } = e;
    return [buildMessage(AlertRaised, data, meta)];
  }
  if (e.type === 'AlertResolved') {
    const { type: _type, ...data } = e;
    return [buildMessage(AlertResolved, data, meta)];
  }
  return [];
}
