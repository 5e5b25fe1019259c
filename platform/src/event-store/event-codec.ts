import type { z } from 'zod';
import type { RecordedEvent } from './event-store';

/**
 * The zod schema of each event type of an aggregate, for the data stored
 * with it (everything but `type`). The mapped type has a key per event type,
 * so an event added to the union without a schema fails the type check.
 */
export type EventSchemas<Event extends { type: string }> = {
  [K in Event['type']]: z.ZodType<Omit<Extract<Event, { type: K }>, 'type'>>;
};

/**
 * Between stored events and an aggregate's domain events. `decode`
 * validates the stored data with the aggregate's own schema, so an event that
 * does not match (a corrupt row, a type this code does not know) is a clear
 * `CorruptEventError` naming the stream, revision and what is wrong, never a
 * cast that lets a wrong shape into `evolve`.
 */
export interface EventCodec<Event extends { type: string }> {
  /** Every event type the codec knows. */
  readonly types: readonly Event['type'][];
  knows(type: string): type is Event['type'];
  decode(event: RecordedEvent): Event;
}

export class CorruptEventError extends Error {
  constructor(
    readonly event: Pick<RecordedEvent, 'id' | 'streamId' | 'revision' | 'type'>,
    readonly reason: string,
  ) {
    super(`stored event ${event.type} at revision ${event.revision} of ${event.streamId} (${event.id}) cannot be read: ${reason}`);
    this.name = 'CorruptEventError';
  }
}

export function eventCodec<Event extends { type: string }>(schemas: EventSchemas<Event>): EventCodec<Event> {
  const table = schemas as Record<string, z.ZodType>;
  const types = Object.keys(table) as Event['type'][];
  const knows = (type: string): type is Event['type'] => Object.hasOwn(table, type);
  return {
    types,
    knows,
    decode(event) {
      if (!knows(event.type)) throw new CorruptEventError(event, `the type is not one of ${types.join(', ')}`);
      const parsed = table[event.type]!.safeParse(event.data);
      if (!parsed.success) throw new CorruptEventError(event, parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; '));
      // The schema of this very type validated the data: the pair is that event.
      return Object.assign({ type: event.type }, parsed.data) as Event;
    },
  };
}

/** One codec over the events of several aggregates (an outbox relaying more than one kind of stream). */
export function combineCodecs<Event extends { type: string }>(...codecs: readonly EventCodec<Event>[]): EventCodec<Event> {
  const byType = new Map<string, EventCodec<Event>>();
  for (const c of codecs) for (const t of c.types) byType.set(t, c);
  const types = [...byType.keys()] as Event['type'][];
  return {
    types,
    knows: (type: string): type is Event['type'] => byType.has(type),
    decode(event) {
      const codec = byType.get(event.type);
      if (!codec) throw new CorruptEventError(event, `the type is not one of ${types.join(', ')}`);
      return codec.decode(event);
    },
  };
}
