import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidAppendError, type EventMetadata, type EventToAppend, type ExpectedRevision, type UnitToCommit } from './event-store';

export interface NormalisedEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// `$` starts EventStoreDB's system streams and event types ($all, $ce-..., $metadata): refused by every
// adapter, so a stream id or type that works on one store works on the other.
const streamIdSchema = z
  .string()
  .min(1, 'stream id is empty')
  .max(512, 'stream id is longer than 512 characters')
  .refine((id) => !id.startsWith('$'), 'stream id starts with $ (reserved for system streams)')
  // The EventStoreDB adapter keeps its inbox markers in `inbox~...` streams, outside the port's log.
  .refine((id) => !id.startsWith('inbox~'), 'stream id starts with inbox~ (reserved for inbox markers)');
const expectedSchema = z.union([
  z.literal(['any', 'no_stream', 'stream_exists']),
  z.number().int('expected revision must be an integer').min(0, 'expected revision must be >= 0'),
]);
const eventSchema = z.object({
  id: z.uuid('event id must be a UUID').optional(),
  type: z
    .string()
    .min(1, 'event type is empty')
    .max(256)
    .refine((type) => !type.startsWith('$'), 'event type starts with $ (reserved for system events)'),
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

export interface NormalisedUnit {
  streams: { streamId: string; expected: ExpectedRevision }[];
  /** Events in decision order, each with the 0-based index of its stream in `streams`. */
  events: (NormalisedEvent & { stream: number })[];
  inbox: { consumer: string; messageIds: string[] } | undefined;
}

/** Checks a unit of work like an append: every stream listed once, every event's stream listed, ids unique. */
export function normaliseUnit(unit: UnitToCommit): NormalisedUnit {
  if (typeof unit !== 'object' || unit === null || !Array.isArray(unit.streams) || !Array.isArray(unit.events)) {
    throw new InvalidAppendError('a unit of work needs a list of streams and a list of events', { field: 'unit' });
  }
  const index = new Map<string, number>();
  const streams = unit.streams.map((s, i) => {
    const sid = streamIdSchema.safeParse(s?.streamId);
    if (!sid.success) throw invalid(sid.error, `streams[${i}].streamId`);
    const exp = expectedSchema.safeParse(s.expectedRevision ?? 'any');
    if (!exp.success) throw invalid(exp.error, `streams[${i}].expectedRevision`);
    if (index.has(sid.data)) throw new InvalidAppendError(`stream ${sid.data} is listed twice in one unit`, { field: `streams[${i}]` });
    index.set(sid.data, i);
    return { streamId: sid.data, expected: exp.data };
  });
  const seen = new Set<string>();
  const events = unit.events.map((raw, i) => {
    const stream = index.get(raw?.streamId);
    if (stream === undefined) throw new InvalidAppendError(`events[${i}]: stream ${String(raw?.streamId)} is not listed in the unit`, { field: `events[${i}].streamId` });
    // The common case checked by hand (this runs for every event of every page); anything odd gets zod's exact report.
    const e = raw as EventToAppend;
    const plain =
      (e.id === undefined || (typeof e.id === 'string' && UUID.test(e.id))) &&
      typeof e.type === 'string' &&
      e.type.length > 0 &&
      e.type.length <= 256 &&
      !e.type.startsWith('$') &&
      (e.schemaVersion === undefined || (Number.isInteger(e.schemaVersion) && e.schemaVersion >= 1)) &&
      (e.metadata === undefined || (typeof e.metadata === 'object' && e.metadata !== null && !Array.isArray(e.metadata)));
    if (!plain) {
      const parsed = eventSchema.safeParse(raw);
      if (!parsed.success) throw invalid(parsed.error, `events[${i}]`);
    }
    assertJson(e.data, `events[${i}].data`);
    const metadata = (e.metadata ?? {}) as EventMetadata;
    assertJson(metadata, `events[${i}].metadata`);
    const id = e.id ?? randomUUID();
    if (seen.has(id)) throw new InvalidAppendError(`event id ${id} appears twice in one unit`, { field: `events[${i}].id` });
    seen.add(id);
    return { id, type: e.type, schemaVersion: e.schemaVersion ?? 1, data: e.data, metadata, stream };
  });
  let inbox: NormalisedUnit['inbox'];
  if (unit.inbox) {
    const { consumer, messageIds } = unit.inbox;
    if (typeof consumer !== 'string' || consumer === '' || !Array.isArray(messageIds) || messageIds.some((id) => typeof id !== 'string' || id === '')) {
      throw new InvalidAppendError('inbox: a consumer name and non-empty message ids', { field: 'inbox' });
    }
    if (messageIds.length > 0) inbox = { consumer, messageIds: [...new Set(messageIds)] };
  }
  return { streams, events, inbox };
}

function invalid(error: z.ZodError, field: string): InvalidAppendError {
  const issue = error.issues[0];
  const where = [field, ...(issue?.path ?? []).map(String)].join('.');
  return new InvalidAppendError(`${where}: ${issue?.message ?? 'invalid'}`, { field: where });
}

/**
 * Only values that survive a JSON round trip unchanged are accepted: no
 * undefined, functions, symbols, bigints, non-finite numbers, cycles, or
 * class instances (a Date would come back as a string). The walk builds no
 * strings unless it fails: it runs on every event of every append.
 */
function assertJson(value: unknown, where: string): void {
  const path: (string | number)[] = [];
  const ancestors = new Set<object>();
  const fail = (why: string): never => {
    const at = where + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
    throw new InvalidAppendError(`${at}: ${why}`, { field: at });
  };
  const walk = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) fail('is not a finite number');
        return;
      case 'object': {
        if (v === null) return;
        if (ancestors.has(v)) fail('contains a cycle');
        ancestors.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            path.push(i);
            walk(v[i]);
            path.pop();
          }
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) fail('is not a plain object');
          for (const k in v) {
            if (!Object.hasOwn(v, k)) continue;
            path.push(k);
            walk((v as Record<string, unknown>)[k]);
            path.pop();
          }
        }
        ancestors.delete(v);
        return;
      }
      default:
        fail(`a ${typeof v} is not serialisable as JSON`);
    }
  };
  walk(value);
}
