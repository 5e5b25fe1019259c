import type { NormalisedEvent } from '../append-validation';
import { CorruptEventError } from '../event-codec';
import type { EventMetadata, RecordedEvent } from '../event-store';
import { jsonEvent } from './client';
import { toPortPosition, type AllPosition } from './positions';
import type { StreamNames } from './stream-names';

/**
 * How a port event is stored on EventStoreDB, and read back. The client's
 * multi-stream append takes string-valued metadata only, so one layout of
 * strings serves every write path:
 *
 *   { "$correlationId": "...", "$causationId": "...", "schemaVersion": "2",
 *     "metadata": "<the port's EventMetadata as JSON>" }
 *
 * `metadata` round-trips the port's metadata exactly (traceparent, tracestate
 * and any other key); `$correlationId`/`$causationId` are copies in the
 * server's own convention (its UI and `$by_correlation_id` projection read
 * them) and are ignored on read, as is any key the server adds. No
 * `schemaVersion` means 1. Data is JSON both ways.
 */
export interface StoredMetadata {
  $correlationId?: string;
  $causationId?: string;
  schemaVersion?: string;
  metadata?: string;
  [key: string]: string | undefined;
}

export function storedMetadata(event: Pick<NormalisedEvent, 'schemaVersion' | 'metadata'>): StoredMetadata {
  const stored: StoredMetadata = {};
  if (typeof event.metadata.correlationId === 'string') stored.$correlationId = event.metadata.correlationId;
  if (typeof event.metadata.causationId === 'string') stored.$causationId = event.metadata.causationId;
  if (event.schemaVersion !== 1) stored.schemaVersion = String(event.schemaVersion);
  if (Object.keys(event.metadata).length > 0) stored.metadata = JSON.stringify(event.metadata);
  return stored;
}

/** The client's event data for a validated port event. */
export function encodeEvent(event: NormalisedEvent) {
  return jsonEvent({ id: event.id, type: event.type, data: event.data as Parameters<typeof jsonEvent>[0]['data'], metadata: storedMetadata(event) });
}

/** What the adapter reads of a server event (the client's recorded event, JSON or binary). */
export interface ServerEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  isJson: boolean;
  data: unknown;
  metadata?: unknown;
  position?: AllPosition;
}

/**
 * A server event as the port's; undefined for a stream outside this
 * service's prefix (or an inbox or system stream), which the port never
 * shows. `withMetadata: false` leaves the inner metadata string unparsed.
 * A record this adapter did not write (binary data, a metadata layout it
 * cannot read, a position it cannot represent) is a `CorruptEventError`.
 */
export function decodeEvent(event: ServerEvent, names: StreamNames, withMetadata: boolean): RecordedEvent | undefined {
  const streamId = names.strip(event.streamId);
  if (streamId === undefined) return undefined;
  const revision = Number(event.revision);
  const where = { id: event.id, streamId, revision, type: event.type };
  if (!event.isJson) throw new CorruptEventError(where, 'its data is not JSON (a record this adapter did not write)');
  if (!event.position) throw new CorruptEventError(where, 'the server gave no log position for it');
  let position: number;
  try {
    position = toPortPosition(event.position, `${streamId}@${revision}`);
  } catch (err) {
    throw new CorruptEventError(where, (err as Error).message);
  }
  const stored = (event.metadata ?? {}) as StoredMetadata;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored) || stored instanceof Uint8Array) {
    throw new CorruptEventError(where, 'its metadata is not a JSON object (a record this adapter did not write)');
  }
  const schemaVersion = stored.schemaVersion === undefined ? 1 : Number(stored.schemaVersion);
  if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1) throw new CorruptEventError(where, `schemaVersion ${String(stored.schemaVersion)} is not a positive integer`);
  let metadata: EventMetadata = {};
  if (withMetadata && stored.metadata !== undefined) {
    try {
      metadata = JSON.parse(stored.metadata) as EventMetadata;
    } catch {
      throw new CorruptEventError(where, 'its metadata is not JSON');
    }
  }
  return { id: event.id, streamId, revision, position, type: event.type, schemaVersion, data: event.data, metadata, recordedAt: event.created };
}
