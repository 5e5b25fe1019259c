import type { OutgoingMessage } from '../bus/bus';
import type { RecordedEvent } from '../event-store/event-store';
import type { EventCodec } from '../event-store/event-codec';
import type { DataOf, MessageContract, MessageMetadata } from './message-contract';

/** A contract message to publish for a stored event: the contract, its data, and any attribute the event does not give. */
export interface MessageToSend {
  contract: MessageContract;
  data: unknown;
  /** Overrides of what `messageMetadataOf` derives (a command's own id, its causation). */
  meta?: Partial<Pick<MessageMetadata, 'id' | 'causationId' | 'time'>>;
}

export function send<C extends MessageContract>(contract: C, data: DataOf<C>, meta?: MessageToSend['meta']): MessageToSend {
  return { contract, data, ...(meta ? { meta } : {}) };
}

/** Marks a domain event that stays inside its service. */
export const INTERNAL = 'internal' as const;

/**
 * Every domain event type of a service, mapped to the messages it becomes,
 * or to `INTERNAL`. The mapped type has a key per event type, so an event
 * added to the union without a mapping fails the type check instead of
 * vanishing at run time.
 */
export type OutboundMapping<Event extends { type: string }> = {
  [K in Event['type']]: ((event: Extract<Event, { type: K }>, recorded: RecordedEvent) => MessageToSend | readonly MessageToSend[]) | typeof INTERNAL;
};

/**
 * The envelope attributes of the message a stored event becomes: the event
 * id as message id and the event's time, so a page relayed again yields the
 * very same messages (consumers' inboxes absorb them); correlation, causation
 * and trace context from the event's metadata.
 */
export function messageMetadataOf(source: string, event: RecordedEvent): MessageMetadata {
  const m = event.metadata;
  return {
    id: event.id,
    source,
    correlationId: m.correlationId ?? event.id,
    ...(m.causationId ? { causationId: m.causationId } : {}),
    ...(m.traceparent ? { traceparent: m.traceparent } : {}),
    ...(m.tracestate ? { tracestate: m.tracestate } : {}),
    time: event.recordedAt.toISOString(),
  };
}

export class UnmappedEventError extends Error {
  constructor(readonly event: RecordedEvent) {
    super(`stored event ${event.type} (${event.id} in ${event.streamId}) has no outbound mapping`);
    this.name = 'UnmappedEventError';
  }
}

/**
 * The outbox relay's `toMessages` for a service: a stored event is decoded
 * into its domain event and mapped; the messages get their attributes from
 * the event (`messageMetadataOf`). A stored type the mapping does not know is
 * an error, not a silent skip: the relay stops on it and says so.
 */
/** A relay's mapping, knowing which stored types it publishes (so the relay need read no others). */
export type ToMessages = ((event: RecordedEvent) => OutgoingMessage[]) & { relayedTypes?: readonly string[] };

export function outboundMessages<Event extends { type: string }>(
  source: string,
  mapping: OutboundMapping<Event>,
  /** Reads the stored events back (`combineCodecs` for several aggregates): a corrupt one stops the relay, named. */
  codec: EventCodec<Event>,
): ToMessages {
  const table = mapping as Record<string, ((event: Event, recorded: RecordedEvent) => MessageToSend | readonly MessageToSend[]) | typeof INTERNAL | undefined>;
  const toMessages: ToMessages = (recorded) => {
    const map = Object.hasOwn(table, recorded.type) ? table[recorded.type] : undefined;
    if (map === undefined) throw new UnmappedEventError(recorded);
    if (map === INTERNAL) return [];
    const sends = map(codec.decode(recorded), recorded);
    const list = Array.isArray(sends) ? (sends as readonly MessageToSend[]) : [sends as MessageToSend];
    if (list.length === 0) return [];
    const base = messageMetadataOf(source, recorded);
    return list.map((s) => s.contract.build(s.data, { ...base, ...s.meta }));
  };
  toMessages.relayedTypes = Object.keys(table).filter((type) => table[type] !== INTERNAL);
  return toMessages;
}
