import { TOPICS, contracts, type Registry } from '@shop/contracts';
import { MessageHandlers } from '@shop/platform';
import { archivedEvent } from '../../archive/archive';

/** The consumer group of the archive. */
export const ARCHIVE_CONSUMER = 'analytics-service';

/** The integration-event topics the archive consumes (every service's facts but analytics' own). */
export const ARCHIVED_TOPICS = [TOPICS.orderEvents, TOPICS.catalogEvents, TOPICS.inventoryEvents, TOPICS.coordinatorEvents];

/**
 * The archive consumer: every message the contracts know on the archived
 * topics, validated by the platform's message path (unknown types,
 * unsupported versions and invalid data are dead-lettered with the reason,
 * never archived half-read), is recorded as it arrived (`archivedEvent`).
 * Arrival order is the archive's global order; the event id is the message
 * id, so the store, like the inbox, keeps a redelivery single.
 */
export function archiveHandlers(topics: readonly string[] = ARCHIVED_TOPICS, registry: Registry = contracts): MessageHandlers {
  return new MessageHandlers(registry).onEveryMessageOf(topics, (message, work) => {
    const { streamId, event } = archivedEvent(message.bus, message.envelope);
    work.record(streamId, [event]);
  });
}
