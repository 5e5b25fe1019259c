import { z } from 'zod';
import {
  NonRetriableError,
  decodeEnvelope,
  encodeEnvelope,
  envelope,
  type ConsumedMessage,
  type Envelope,
  type MessageContract,
  type MessageMetadata,
  type OutgoingMessage,
} from '@shop/platform';
import type { ServiceName, TopicName } from './topics';

/**
 * A message that crosses a service boundary: its type, schema version,
 * schema, topic and key. Adding an optional field keeps the version; a
 * breaking change adds a version, and the previous versions stay listed with
 * an upcaster, so consumers accept every version still in use.
 */
export interface MessageSpec<Type extends string = string, Schema extends z.ZodType = z.ZodType> {
  type: Type;
  version: number;
  kind: 'event' | 'command';
  topic: TopicName;
  schema: Schema;
  /** Method syntax: a definition of any schema is a `MessageDefinition` (parameters are bivariant). */
  key(data: z.infer<Schema>): string;
  producer: ServiceName;
  consumers: ServiceName[];
  description: string;
  /** Older versions still accepted, each with the function that lifts it one version up. */
  previous?: { version: number; schema: z.ZodType; upcast: (data: unknown) => unknown }[];
}

/**
 * A defined message: its spec, and the platform's `MessageContract` over it
 * (`read` validates and upcasts a consumed envelope, `build` validates data
 * and encodes the bus message), so the platform's message path handles it by
 * its definition alone.
 */
export type MessageDefinition<Type extends string = string, Schema extends z.ZodType = z.ZodType> = MessageSpec<Type, Schema> &
  MessageContract<Type, z.infer<Schema>>;

export function defineMessage<const Type extends string, Schema extends z.ZodType>(spec: MessageSpec<Type, Schema>): MessageDefinition<Type, Schema> {
  const definition: MessageDefinition<Type, Schema> = {
    ...spec,
    read: (env: Envelope) => readData(definition, env),
    build: (data: z.infer<Schema>, meta: MessageMetadata) => buildMessage(definition, data as MessageData<typeof definition>, meta),
  };
  return definition;
}

export type MessageData<D> = D extends MessageSpec<string, infer S> ? z.infer<S> : never;

export type { MessageMetadata };

/** Validates `data` against the definition and builds the bus message. */
export function buildMessage<D extends MessageSpec>(definition: D, data: MessageData<D>, meta: MessageMetadata): OutgoingMessage {
  const parsed = definition.schema.parse(data) as MessageData<D>;
  const key = definition.key(parsed);
  return encodeEnvelope(
    envelope({
      id: meta.id,
      source: meta.source,
      type: definition.type,
      subject: key,
      dataschema: `urn:shop:${definition.type}:${definition.version}`,
      schemaversion: definition.version,
      correlationid: meta.correlationId,
      ...(meta.causationId ? { causationid: meta.causationId } : {}),
      ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      ...(meta.tracestate ? { tracestate: meta.tracestate } : {}),
      ...(meta.time ? { time: meta.time } : {}),
      data: parsed,
    }),
    { topic: definition.topic, key },
  );
}

export class UnknownMessageError extends NonRetriableError {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnknownMessageError';
  }
}

/**
 * The data of an envelope in the definition's current version: older
 * versions are upcast, newer or unknown ones and invalid data are refused
 * with a NonRetriableError (so the consumer dead-letters them with the reason).
 */
export function readData<D extends MessageSpec>(definition: D, env: Envelope): MessageData<D> {
  if (env.type !== definition.type) throw new UnknownMessageError(`expected ${definition.type}, got ${env.type}`);
  let data: unknown = env.data;
  if (env.schemaversion !== definition.version) {
    const chain = (definition.previous ?? []).filter((p) => p.version >= env.schemaversion).sort((a, b) => a.version - b.version);
    if (chain[0]?.version !== env.schemaversion) {
      throw new UnknownMessageError(`${env.type} version ${env.schemaversion} is not supported (current ${definition.version})`);
    }
    for (const step of chain) {
      const old = step.schema.safeParse(data);
      if (!old.success) throw new UnknownMessageError(`${env.type} v${step.version} data is invalid: ${z.prettifyError(old.error)}`);
      data = step.upcast(old.data);
    }
  }
  const parsed = definition.schema.safeParse(data);
  if (!parsed.success) throw new UnknownMessageError(`${env.type} v${definition.version} data is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data as MessageData<D>;
}

export interface Registry {
  definitions: readonly MessageDefinition[];
  byType(type: string): MessageDefinition | undefined;
}

export function registry(definitions: readonly MessageDefinition[]): Registry {
  const map = new Map(definitions.map((d) => [d.type, d]));
  if (map.size !== definitions.length) throw new Error('two message definitions share a type');
  return { definitions, byType: (type) => map.get(type) };
}

/**
 * Decodes a consumed message into its definition and current-version data.
 * Anything unknown or invalid is a NonRetriableError.
 */
export function decodeContract(reg: Registry, message: Pick<ConsumedMessage, 'headers' | 'value'>): {
  envelope: Envelope;
  definition: MessageDefinition;
  data: unknown;
} {
  const env = decodeEnvelope(message);
  const definition = reg.byType(env.type);
  if (!definition) throw new UnknownMessageError(`unknown message type ${env.type}`);
  return { envelope: env, definition, data: readData(definition, env) };
}
