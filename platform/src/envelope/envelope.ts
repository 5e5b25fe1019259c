import { z } from 'zod';
import { NonRetriableError, type ConsumedMessage, type OutgoingMessage } from '../bus/bus';

/**
 * One envelope for everything on the bus: CloudEvents 1.0 attributes plus the
 * extensions `traceparent`/`tracestate` (W3C trace context), `correlationid`,
 * `causationid` and `schemaversion`. On the wire it uses the CloudEvents
 * Kafka binary binding on every bus: attributes in `ce_*` headers, the data
 * as the message value, `content-type` for `datacontenttype`.
 */
export interface Envelope<Data = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: 'application/json';
  dataschema?: string;
  schemaversion: number;
  correlationid: string;
  causationid?: string;
  traceparent?: string;
  tracestate?: string;
  data: Data;
}

export type NewEnvelope<Data = unknown> = Omit<Envelope<Data>, 'specversion' | 'datacontenttype' | 'time'> & { time?: string };

const CE = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  subject: 'ce_subject',
  time: 'ce_time',
  dataschema: 'ce_dataschema',
  schemaversion: 'ce_schemaversion',
  correlationid: 'ce_correlationid',
  causationid: 'ce_causationid',
  traceparent: 'ce_traceparent',
  tracestate: 'ce_tracestate',
} as const;
const CONTENT_TYPE = 'content-type';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

const attributesSchema = z.object({
  specversion: z.literal('1.0', { error: 'ce_specversion must be 1.0' }),
  id: z.string().min(1, 'ce_id is missing'),
  source: z.string().min(1, 'ce_source is missing'),
  type: z.string().regex(/^[a-z][a-z0-9.-]*$/, 'ce_type must be a dotted lower-case name'),
  subject: z.string().min(1).optional(),
  time: z.iso.datetime({ offset: true, error: 'ce_time must be an RFC 3339 timestamp' }),
  dataschema: z.string().min(1).optional(),
  schemaversion: z.coerce.number().int().min(1, 'ce_schemaversion must be >= 1'),
  correlationid: z.string().min(1, 'ce_correlationid is missing'),
  causationid: z.string().min(1).optional(),
  traceparent: z.string().regex(TRACEPARENT, 'ce_traceparent is not W3C trace context').optional(),
  tracestate: z.string().optional(),
  datacontenttype: z.literal('application/json', { error: 'content-type must be application/json' }),
});

export class EnvelopeDecodeError extends NonRetriableError {
  constructor(reason: string) {
    super(`message is not a valid envelope: ${reason}`);
    this.name = 'EnvelopeDecodeError';
  }
}

export function envelope<Data>(fields: NewEnvelope<Data>): Envelope<Data> {
  return { specversion: '1.0', datacontenttype: 'application/json', time: new Date().toISOString(), ...fields };
}

/** Binary binding: the envelope as a keyed bus message. */
export function encodeEnvelope(env: Envelope, target: { topic: string; key: string }): OutgoingMessage {
  const headers: Record<string, string> = { [CONTENT_TYPE]: env.datacontenttype };
  for (const [attr, header] of Object.entries(CE)) {
    const value = env[attr as keyof typeof CE];
    if (value !== undefined) headers[header] = String(value);
  }
  return { topic: target.topic, key: target.key, value: JSON.stringify(env.data), headers };
}

/**
 * The envelope of a consumed message, or an `EnvelopeDecodeError` (a
 * NonRetriableError, so the consumer dead-letters it with the reason).
 */
export function decodeEnvelope(message: { headers?: ConsumedMessage['headers']; value: string }): Envelope {
  const raw = attributesOf(message.headers ?? {});
  // The usual, well-formed message is checked by hand (this runs for every
  // message consumed); anything else goes through the schema, whose report
  // names each bad header.
  if (wellFormed(raw)) return { ...raw, schemaversion: Number(raw.schemaversion), data: parseData(message.value) } as Envelope;
  return decodeBySchema(raw, message.value);
}

/**
 * `decodeEnvelope` with the schema alone, no hand-written fast path: the
 * reference the fast path must agree with (`platform/test/envelope.unit.spec.ts`
 * checks both on many malformed variants).
 */
export function decodeEnvelopeBySchema(message: { headers?: ConsumedMessage['headers']; value: string }): Envelope {
  return decodeBySchema(attributesOf(message.headers ?? {}), message.value);
}

function attributesOf(h: ConsumedMessage['headers']): Record<string, string | undefined> {
  return {
    specversion: h[CE.specversion],
    id: h[CE.id],
    source: h[CE.source],
    type: h[CE.type],
    subject: h[CE.subject],
    time: h[CE.time],
    dataschema: h[CE.dataschema],
    schemaversion: h[CE.schemaversion],
    correlationid: h[CE.correlationid],
    causationid: h[CE.causationid],
    traceparent: h[CE.traceparent],
    tracestate: h[CE.tracestate],
    datacontenttype: h[CONTENT_TYPE]?.split(';')[0]?.trim(),
  };
}

function decodeBySchema(raw: Record<string, string | undefined>, value: string): Envelope {
  const parsed = attributesSchema.safeParse(raw);
  if (!parsed.success) {
    const headerOf = (attr: PropertyKey | undefined) => (attr === 'datacontenttype' ? CONTENT_TYPE : (CE[attr as keyof typeof CE] ?? String(attr)));
    throw new EnvelopeDecodeError(parsed.error.issues.map((i) => `${headerOf(i.path[0])}: ${i.message}`).join('; '));
  }
  return { ...parsed.data, data: parseData(value) };
}

function parseData(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new EnvelopeDecodeError(`data is not JSON (${(err as Error).message})`);
  }
}

const TYPE_NAME = /^[a-z][a-z0-9.-]*$/;
const VERSION = /^[1-9][0-9]{0,8}$/;
/** RFC 3339 with an offset, a strict subset of what the schema accepts (what `toISOString` writes, or with ±hh:mm). */
const TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const present = (v: string | undefined) => typeof v === 'string' && v.length > 0;
const optional = (v: string | undefined) => v === undefined || v.length > 0;

/** The day of a `TIME` match exists in its month (the schema refuses 2026-02-30). */
function dayExists(time: string): boolean {
  const year = Number(time.slice(0, 4));
  const month = Number(time.slice(5, 7));
  const day = Number(time.slice(8, 10));
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether the attributes pass every rule of `attributesSchema` (only ever true when the schema would say so). */
function wellFormed(a: Record<string, string | undefined>): boolean {
  return (
    a.specversion === '1.0' &&
    present(a.id) &&
    present(a.source) &&
    typeof a.type === 'string' &&
    TYPE_NAME.test(a.type) &&
    optional(a.subject) &&
    typeof a.time === 'string' &&
    TIME.test(a.time) &&
    dayExists(a.time) &&
    optional(a.dataschema) &&
    typeof a.schemaversion === 'string' &&
    VERSION.test(a.schemaversion) &&
    present(a.correlationid) &&
    optional(a.causationid) &&
    (a.traceparent === undefined || TRACEPARENT.test(a.traceparent)) &&
    a.datacontenttype === 'application/json'
  );
}
