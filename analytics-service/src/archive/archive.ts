import { contracts, decodeContract, readData, type Registry } from '@shop/contracts';
import {
  NonRetriableError,
  deterministicId,
  type ConsumedMessage,
  type Envelope,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '@shop/platform';

/*
 * The archive: every consumed contract message stored as an event of the
 * analytics event store, its envelope as the event's metadata (the consumer
 * that records them is `integration/inbound/archived-facts.ts`), and how
 * projections read an archived event's data back (`readArchived`).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The archive's event id for an envelope id: the id itself when it is a UUID
 * (every producer of the platform uses UUIDs), else a UUID derived from it.
 * The same envelope always maps to the same event id, so the store absorbs a
 * redelivery as a retry of the append that already committed.
 */
export function archiveEventId(envelopeId: string): string {
  return UUID.test(envelopeId) ? envelopeId.toLowerCase() : deterministicId('analytics-archive', envelopeId);
}

/** `order.events` + key `K` -> stream `order-K`: the category is the producing service. */
export function archiveStreamId(topic: string, key: string): string {
  return `${topic.split('.')[0]}-${key}`;
}

/** The envelope attributes kept in the archived event's metadata (everything but the data). */
export type ArchivedAttributes = Omit<Envelope, 'data'>;

export interface ArchiveMetadata {
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
  envelope: ArchivedAttributes;
  bus: { topic: string; partition: number; offset: number; key: string; publishedAt: string };
  [key: string]: unknown;
}

/** What the archive stores for a valid message: its stream, and its original envelope (as received, not upcast) as the event. */
export function archivedEvent(message: ConsumedMessage, envelope: Envelope): { streamId: string; event: EventToAppend } {
  const { data, ...rest } = envelope;
  // Absent optional attributes are left out (undefined is not JSON).
  const attributes = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as ArchivedAttributes;
  const metadata: ArchiveMetadata = {
    correlationId: envelope.correlationid,
    ...(envelope.causationid ? { causationId: envelope.causationid } : {}),
    ...(envelope.traceparent ? { traceparent: envelope.traceparent } : {}),
    ...(envelope.tracestate ? { tracestate: envelope.tracestate } : {}),
    envelope: attributes,
    bus: {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      publishedAt: message.publishedAt.toISOString(),
    },
  };
  return {
    streamId: archiveStreamId(message.topic, message.key),
    event: { id: archiveEventId(envelope.id), type: envelope.type, schemaVersion: envelope.schemaversion, data, metadata },
  };
}

/**
 * One message archived on its own, outside the consumer (tests, the replay
 * benchmark's seed): validated against the contracts like the consumer's,
 * and appended alone. What a failure means for delivery (dead letter or
 * retry) is the platform message path's business, not this helper's.
 */
export function archiveHandler(store: Pick<EventStore, 'append'>, registry: Registry = contracts): (message: ConsumedMessage) => Promise<void> {
  return async (message) => {
    const { envelope } = decodeContract(registry, message);
    const { streamId, event } = archivedEvent(message, envelope);
    await store.append(streamId, [event], { expectedRevision: 'any' });
  };
}

/** The original envelope of an archived event. */
export function envelopeOf(event: RecordedEvent): Envelope {
  const attributes = (event.metadata as ArchiveMetadata).envelope;
  return { ...attributes, data: event.data };
}

/**
 * The data of an archived event in its contract's current version: older
 * versions are upcast through the contract's `previous` chain (`readData`).
 * Projections read events only through this, and need no metadata for it:
 * the archive stores the envelope's schema version as the event's own.
 *
 * Data already in the current version is returned as stored, not validated
 * again: the archive handler validated it against this version's schema
 * (`decodeContract`) before appending it, the archive never changes it, and
 * within a version a contract only gains optional fields, so it is still
 * valid. Re-validating every event of every replay cost more than the
 * projections' own work (docs/benchmarks.md, replay).
 */
export function readArchived<T>(event: RecordedEvent, registry: Registry = contracts): T {
  const definition = registry.byType(event.type);
  if (!definition) throw new NonRetriableError(`archived event type ${event.type} has no contract`);
  if (event.schemaVersion === definition.version) return event.data as T;
  // `readData` reads the type, version and data of the envelope, all of which the event itself carries.
  const stored = (event.metadata as Partial<ArchiveMetadata>).envelope;
  return readData(definition, { ...stored, type: event.type, schemaversion: event.schemaVersion, data: event.data } as Envelope) as T;
}
