import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidAppendError, type EventMetadata, type EventToAppend, type ExpectedRevision } from './event-store';

export interface NormalisedEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

const streamIdSchema = z.string().min(1, 'stream id is empty').max(512, 'stream id is longer than 512 characters');
const expectedSchema = z.union([
  z.literal(['any', 'no_stream', 'stream_exists']),
  z.number().int('expected revision must be an integer').min(0, 'expected revision must be >= 0'),
]);
const eventSchema = z.object({
  id: z.uuid('event id must be a UUID').optional(),
  type: z.string().min(1, 'event type is empty').max(256),
  schemaVersion: z.number().int().min(1, 'schema version must be >= 1').optional(),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Checks an append before it reaches any adapter, so that bad input is a
 * typed error and writes nothing, whatever the adapter.
 */
export function normaliseAppend(
  streamId: unknown,
  events: unknown,
  expected: unknown = 'any',
): { streamId: string; events: NormalisedEvent[]; expected: ExpectedRevision } {
  const sid = streamIdSchema.safeParse(streamId);
  if (!sid.success) throw invalid(sid.error, 'streamId');
  const exp = expectedSchema.safeParse(expected);
  if (!exp.success) throw invalid(exp.error, 'expectedRevision');
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError('an append needs at least one event', { field: 'events' });
  }
  const seen = new Set<string>();
  const normalised = events.map((raw, i): NormalisedEvent => {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) throw invalid(parsed.error, `events[${i}]`);
    const e = parsed.data as EventToAppend;
    assertJson(e.data, `events[${i}].data`);
    const metadata = (e.metadata ?? {}) as EventMetadata;
    assertJson(metadata, `events[${i}].metadata`);
    const id = e.id ?? randomUUID();
    if (seen.has(id)) throw new InvalidAppendError(`event id ${id} appears twice in one append`, { field: `events[${i}].id` });
    seen.add(id);
    return { id, type: e.type, schemaVersion: e.schemaVersion ?? 1, data: e.data, metadata };
  });
  return { streamId: sid.data, events: normalised, expected: exp.data };
}

function invalid(error: z.ZodError, field: string): InvalidAppendError {
  const issue = error.issues[0];
  const where = [field, ...(issue?.path ?? []).map(String)].join('.');
  return new InvalidAppendError(`${where}: ${issue?.message ?? 'invalid'}`, { field: where });
}

/**
 * Only values that survive a JSON round trip unchanged are accepted: no
 * undefined, functions, symbols, bigints, non-finite numbers, cycles, or
 * class instances (a Date would come back as a string).
 */
function assertJson(value: unknown, where: string, ancestors: object[] = []): void {
  const fail = (why: string) => {
    throw new InvalidAppendError(`${where}: ${why}`, { field: where });
  };
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail('is not a finite number');
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.includes(value)) fail('contains a cycle');
      const proto = Object.getPrototypeOf(value) as unknown;
      if (Array.isArray(value)) {
        value.forEach((item, i) => assertJson(item, `${where}[${i}]`, [...ancestors, value]));
        return;
      }
      if (proto !== Object.prototype && proto !== null) fail('is not a plain object');
      for (const [k, v] of Object.entries(value)) assertJson(v, `${where}.${k}`, [...ancestors, value]);
      return;
    }
    default:
      fail(`a ${typeof value} is not serialisable as JSON`);
  }
}
