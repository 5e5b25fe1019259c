import { z } from 'zod';
import { hostTuningConfigShape, loadConfig } from '@shop/platform';
import contractsPackage from '../package.json';
import { buildableVersions, type MessageDefinition, type MessageSpec } from './message';
import type { ServiceName, TopicName } from './topics';

/**
 * The AsyncAPI 3.0 description of the bus, generated from the contract
 * definitions: one channel per topic, one message per schema version (the
 * current one and every `previous` version consumers still accept), and per
 * service a `send` operation on each topic it produces to and a `receive`
 * operation on each topic it consumes. `npm run asyncapi` writes it to
 * `docs/asyncapi.yaml`; `contracts/test/asyncapi.unit.spec.ts` keeps the
 * committed file equal to a fresh generation.
 */

/** The JSON Schema dialect of payloads and headers: what `z.toJSONSchema(..., { target: 'draft-7' })` writes and the AsyncAPI parser validates. */
export const SCHEMA_FORMAT = 'application/schema+json;version=draft-07';
const KAFKA_BINDING_VERSION = '0.5.0';

export type JsonSchema = Record<string, unknown>;

export interface AsyncApiOptions {
  /**
   * Partitions of every topic. Defaults to the platform's `TOPIC_PARTITIONS`
   * default, the count each service creates its topics with.
   */
  partitions?: number;
  /** The document's version; defaults to the version of `@shop/contracts`. */
  version?: string;
}

/** A message of the document: one schema version of one definition. */
export interface VersionedMessage {
  /** `<type>.v<version>`, its key under `components.messages` and its channel's `messages`. */
  id: string;
  definition: MessageDefinition;
  version: number;
  schema: z.ZodType;
  /** The id of the version that replaced it, for a `previous` version. */
  supersededBy?: string;
  /** Whether its producer can still send it: the current version, or a `previous` one with a `downcast` (while a consumer reads only it). */
  sent: boolean;
}

export const messageId = (type: string, version: number) => `${type}.v${version}`;

/** Every version of every definition: the current one first, then its previous versions, newest first. */
export function versionedMessages(definitions: readonly MessageDefinition[]): VersionedMessage[] {
  return definitions.flatMap((d) => {
    const current = messageId(d.type, d.version);
    const previous = [...(d.previous ?? [])]
      .sort((a, b) => b.version - a.version)
      .map((p): VersionedMessage => ({
        id: messageId(d.type, p.version),
        definition: d,
        version: p.version,
        schema: p.schema,
        supersededBy: current,
        sent: buildableVersions(d).includes(p.version),
      }));
    return [{ id: current, definition: d, version: d.version, schema: d.schema, sent: true }, ...previous];
  });
}

/** The draft-07 JSON Schema of a message's data, as the document carries it. */
export function payloadSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { target: 'draft-7' }) as JsonSchema;
}

export function asyncApiDocument(definitions: readonly MessageDefinition[], topics: readonly TopicName[], options: AsyncApiOptions = {}): Record<string, unknown> {
  const partitions = options.partitions ?? loadConfig(hostTuningConfigShape, {}).TOPIC_PARTITIONS;
  const messages = versionedMessages(definitions);
  const unknownTopic = messages.find((m) => !topics.includes(m.definition.topic));
  if (unknownTopic) throw new Error(`${unknownTopic.id} is on topic ${unknownTopic.definition.topic}, which is not among the document's topics`);
  const onTopic = (topic: TopicName) => messages.filter((m) => m.definition.topic === topic);

  const channels = Object.fromEntries(
    topics.map((topic) => [
      topic,
      {
        address: topic,
        title: topic,
        description: channelDescription(definitions.filter((d) => d.topic === topic)),
        messages: Object.fromEntries(onTopic(topic).map((m) => [m.id, { $ref: `#/components/messages/${m.id}` }])),
        bindings: { kafka: { topic, partitions, bindingVersion: KAFKA_BINDING_VERSION } },
      },
    ]),
  );

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Shop platform messages',
      version: options.version ?? contractsPackage.version,
      description: [
        'Every message that crosses a service boundary, generated from `@shop/contracts` by `npm run asyncapi` (do not edit by hand).',
        'Facts go to `<service>.events` (replies to the coordinator included), the coordinator’s commands to `<service>.commands`.',
        'Each message is a CloudEvents 1.0 event in the Kafka binary binding: attributes in `ce_*` headers, the JSON data as the value.',
        'A breaking change adds a schema version; the previous versions stay listed as long as consumers accept (and upcast) them.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: '127.0.0.1:9092',
        protocol: 'kafka',
        title: 'Kafka (local)',
        description:
          'The Kafka broker of `npm run kafka` (BUS=kafka). The default bus, a PostgreSQL-backed one (BUS=postgres), carries the same topics, partitions, keys, headers and values.',
      },
    },
    channels,
    operations: operations(messages, topics),
    components: { messages: Object.fromEntries(messages.map((m) => [m.id, messageObject(m)])) },
  };
}

function channelDescription(definitions: readonly MessageDefinition[]): string {
  if (definitions.length === 0) return 'No contract message is published here.';
  const producers = unique(definitions.map((d) => d.producer));
  const consumers = unique(definitions.flatMap((d) => d.consumers));
  return `Produced by ${producers.join(', ')}; consumed by ${consumers.length > 0 ? consumers.join(', ') : 'no service'}.`;
}

/**
 * A producer sends the current versions, and the previous ones it can still
 * downcast to (by configuration, while a consumer reads only those); a
 * consumer receives every version its definition still accepts.
 */
function operations(messages: readonly VersionedMessage[], topics: readonly TopicName[]): Record<string, unknown> {
  const services = unique(messages.flatMap((m) => [m.definition.producer, ...m.definition.consumers]));
  const result: Record<string, unknown> = {};
  for (const service of services) {
    for (const topic of topics) {
      const onTopic = messages.filter((m) => m.definition.topic === topic);
      const sent = onTopic.filter((m) => m.sent && m.definition.producer === service);
      const received = onTopic.filter((m) => m.definition.consumers.includes(service));
      if (sent.length > 0) result[operationId(service, 'send', topic)] = operation(service, 'send', topic, sent);
      if (received.length > 0) result[operationId(service, 'receive', topic)] = operation(service, 'receive', topic, received);
    }
  }
  return result;
}

export const operationId = (service: ServiceName, action: 'send' | 'receive', topic: TopicName) => `${service}.${action}.${topic}`;

function operation(service: ServiceName, action: 'send' | 'receive', topic: TopicName, messages: readonly VersionedMessage[]) {
  return {
    action,
    channel: { $ref: `#/channels/${topic}` },
    title: `${service} ${action === 'send' ? 'sends to' : 'receives from'} ${topic}`,
    summary: messages.map((m) => m.id).join(', '),
    tags: [{ name: service }],
    'x-service': service,
    messages: messages.map((m) => ({ $ref: `#/channels/${topic}/messages/${m.id}` })),
  };
}

function messageObject(m: VersionedMessage) {
  const d = m.definition;
  const payload = payloadSchema(m.schema);
  return {
    name: d.type,
    title: `${d.type} v${m.version}`,
    summary: d.description,
    ...(m.supersededBy ? { description: supersededDescription(m) } : {}),
    contentType: 'application/json',
    correlationId: { description: 'Shared by every message of one business flow (one order).', location: '$message.header#/ce_correlationid' },
    headers: { schemaFormat: SCHEMA_FORMAT, schema: headersSchema(d, m.version) },
    payload: { schemaFormat: SCHEMA_FORMAT, schema: payload },
    bindings: { kafka: { key: keySchema(d, payload), bindingVersion: KAFKA_BINDING_VERSION } },
    tags: [{ name: d.kind }, { name: d.producer }],
    'x-schema-version': m.version,
    'x-kind': d.kind,
    'x-producer': d.producer,
    'x-consumers': [...d.consumers],
    ...(m.supersededBy ? { 'x-superseded-by': m.supersededBy } : {}),
  };
}

function supersededDescription(m: VersionedMessage): string {
  const read = `A previous version, replaced by ${m.supersededBy}; consumers still accept it and upcast it.`;
  return m.sent ? `${read} Its producer can still send it (downcast), while a consumer reads only this version.` : read;
}

const TRACEPARENT = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';

/**
 * The CloudEvents binary-mode headers `buildMessage` writes (platform
 * `encodeEnvelope`). `required` is what `decodeEnvelope` refuses a message
 * without; `ce_subject` (the key) is always written but optional to read.
 */
export function headersSchema(d: Pick<MessageSpec, 'type' | 'producer'>, version: number): JsonSchema {
  const text = (description: string) => ({ type: 'string', minLength: 1, description });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      ce_specversion: { type: 'string', const: '1.0', description: 'CloudEvents spec version.' },
      ce_id: text('Unique id of the message; consumers de-duplicate on it.'),
      ce_source: { ...text('The producing service.'), examples: [d.producer] },
      ce_type: { type: 'string', const: d.type, description: 'The message type.' },
      ce_subject: text('The message key (the same value as the Kafka key).'),
      ce_time: { type: 'string', format: 'date-time', description: 'When the fact happened or the command was issued (RFC 3339).' },
      ce_dataschema: { type: 'string', const: `urn:shop:${d.type}:${version}`, description: 'The schema of the data.' },
      ce_schemaversion: { type: 'string', const: String(version), description: 'The schema version of the data.' },
      ce_correlationid: text('The business flow the message belongs to.'),
      ce_causationid: text('The id of the message or event that caused this one.'),
      ce_traceparent: { type: 'string', pattern: TRACEPARENT, description: 'W3C trace context of the producing span.' },
      ce_tracestate: { type: 'string', description: 'W3C trace state.' },
      'content-type': {
        type: 'string',
        pattern: '^\\s*application/json\\s*(;.*)?$',
        description: 'The data content type (CloudEvents `datacontenttype`): written as application/json; parameters such as charset are accepted.',
      },
    },
    required: ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'ce_schemaversion', 'ce_correlationid', 'content-type'],
  };
}

const KEY_MEANING: Record<string, string> = {
  orderId: 'The order id',
  sku: 'The SKU',
  ruleId: 'The alert rule id',
};

/** The Kafka key: the schema of the data field the definition keys on, and what it is. */
function keySchema(d: MessageDefinition, payload: JsonSchema): JsonSchema {
  const field = keyField(d);
  const ordering = 'messages with one key land on one partition, so they are consumed in the order they were published.';
  const fieldSchema = field ? (payload.properties as Record<string, JsonSchema> | undefined)?.[field] : undefined;
  if (!field || !fieldSchema) return { type: 'string', minLength: 1, description: `Derived from the data by the definition's key; ${ordering}` };
  return { ...fieldSchema, description: `${KEY_MEANING[field] ?? `The data's ${field}`} (\`${field}\` of the data): ${ordering}` };
}

/** The data field a definition's `key` returns, found by calling it on a probe that records what it reads. */
export function keyField(d: Pick<MessageSpec, 'key'>): string | undefined {
  const read: string[] = [];
  const probe = new Proxy(
    {},
    {
      get: (_target, property) => {
        if (typeof property === 'string') read.push(property);
        return `<${String(property)}>`;
      },
    },
  );
  try {
    const key = d.key(probe);
    return read.length === 1 && key === `<${read[0]}>` ? read[0] : undefined;
  } catch {
    return undefined;
  }
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
