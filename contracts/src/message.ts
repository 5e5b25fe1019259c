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
  previous?: PreviousVersion[];
}

/** An older version of a message that consumers still accept. */
export interface PreviousVersion {
  version: number;
  schema: z.ZodType;
  /** This version's data -> the data of the version above. Total: a field the old version lacks gets a default the domain agrees with. */
  upcast: (data: unknown) => unknown;
  /**
   * The version above's data -> this version's, for a producer that must
   * keep publishing this version for a while (a rolling deploy in which
   * some consumer still reads only it). Without it the version can still be
   * read, not built.
   */
  downcast?: (data: unknown) => unknown;
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

export interface BuildOptions {
  /**
   * The schema version to publish: the current one (default) or a listed
   * older one that every `previous` entry down to it can `downcast` to.
   */
  version?: number;
}

/**
 * Validates `data` (in the definition's current version) and builds the bus
 * message. With `version` an older one, the data is downcast step by step to
 * it and validated against that version's schema, and the envelope names
 * that version (`ce_schemaversion`, `ce_dataschema`): what a producer
 * publishes while a consumer still reads only that version.
 */
export function buildMessage<D extends MessageSpec>(definition: D, data: MessageData<D>, meta: MessageMetadata, options: BuildOptions = {}): OutgoingMessage {
  const parsed = definition.schema.parse(data) as MessageData<D>;
  const key = definition.key(parsed);
  const version = options.version ?? definition.version;
  return encodeEnvelope(
    envelope({
      id: meta.id,
      source: meta.source,
      type: definition.type,
      subject: key,
      dataschema: `urn:shop:${definition.type}:${version}`,
      schemaversion: version,
      correlationid: meta.correlationId,
      ...(meta.causationId ? { causationid: meta.causationId } : {}),
      ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      ...(meta.tracestate ? { tracestate: meta.tracestate } : {}),
      ...(meta.time ? { time: meta.time } : {}),
      data: version === definition.version ? parsed : downcastSteps(definition, parsed, version),
    }),
    { topic: definition.topic, key },
  );
}

/** The versions a definition lists, newest first: the current one and each `previous` one. */
export function listedVersions(definition: Pick<MessageSpec, 'version' | 'previous'>): number[] {
  return [definition.version, ...(definition.previous ?? []).map((p) => p.version)].sort((a, b) => b - a);
}

/** The versions a producer can build: the current one, and each older one that every step down to it can `downcast` to. */
export function buildableVersions(definition: Pick<MessageSpec, 'version' | 'previous'>): number[] {
  const older = [...(definition.previous ?? [])].sort((a, b) => b.version - a.version);
  const versions = [definition.version];
  for (const step of older) {
    if (typeof step.downcast !== 'function') break;
    versions.push(step.version);
  }
  return versions;
}

/** The `previous` entries from the one below the current version down to `version`, newest first; throws when a step cannot downcast. */
function downcastChain(definition: Pick<MessageSpec, 'type' | 'version' | 'previous'>, version: number): PreviousVersion[] {
  if (!buildableVersions(definition).includes(version)) {
    const listed = listedVersions(definition).includes(version);
    throw new Error(
      listed
        ? `${definition.type} v${version} cannot be built: every \`previous\` entry from v${definition.version - 1} down to v${version} needs a \`downcast\``
        : `${definition.type} has no v${version} (it lists ${listedVersions(definition).map((v) => `v${v}`).join(', ')})`,
    );
  }
  return (definition.previous ?? []).filter((p) => p.version >= version).sort((a, b) => b.version - a.version);
}

function downcastSteps(definition: MessageSpec, data: unknown, version: number): unknown {
  let lowered = data;
  for (const step of downcastChain(definition, version)) {
    const result = step.schema.safeParse(step.downcast!(lowered));
    if (!result.success) throw new Error(`${definition.type} downcast to v${step.version} is invalid: ${z.prettifyError(result.error)}`);
    lowered = result.data;
  }
  return lowered;
}

/**
 * The definition as a contract that builds its messages at `version`, an
 * older listed one it can downcast to (reading is unchanged): what an
 * outbound mapping sends with during a rolling deploy, while a consumer still
 * reads only that version. Throws at once when `version` cannot be built.
 */
export function atVersion<D extends MessageDefinition>(definition: D, version: number): D {
  if (version === definition.version) return definition;
  downcastChain(definition, version);
  return { ...definition, build: (data: MessageData<D>, meta: MessageMetadata) => buildMessage(definition, data, meta, { version }) };
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
