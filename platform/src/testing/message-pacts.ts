import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MatchersV3, MessageProviderPact, PactV4, type MessageDescriptor } from '@pact-foundation/pact';
import type { ConsumedMessage, OutgoingMessage } from '../bus/bus';
import type { EventMetadata } from '../event-store/event-store';
import type { MessageProcessor } from '../messaging/message-processor';
import type { ToMessages } from '../messaging/outbound';
import { recordedEvents } from './projection-specification';

/**
 * Pact message contracts (V4 asynchronous messages) between the services,
 * without a broker: consumer tests write the pact files into `PACTS_DIR`,
 * each producer verifies every file that names it, and `npm run
 * contracts:check` reads both (see docs/contracts.md).
 *
 * A message's pact is its bus form: the JSON data as the contents, and as
 * metadata the CloudEvents headers the consumer's decode requires plus the
 * topic and key, so a producer verifies what its outbox relay would
 * publish, headers included.
 */
export const PACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../contracts/pacts');

/** Where each producer's verification results go (read by `contracts:check`; not committed). */
export const VERIFICATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../.data/contracts/verifications');

/** The name an interaction has in a pact: the message type and its schema version. */
export function messageDescription(message: Pick<OutgoingMessage, 'headers'>): string {
  const h = message.headers ?? {};
  if (!h.ce_type || !h.ce_schemaversion) throw new Error('a pact message needs ce_type and ce_schemaversion headers');
  return `${h.ce_type} v${h.ce_schemaversion}`;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  anyOf?: JsonSchema[];
};

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Pact matchers for `example`, read with the consumer's JSON Schema of the
 * data: an enum or constant must be one of its values, a uuid or date-time
 * must have that form, a pattern must match, and everything else must have
 * the example's type; arrays match element by element. So the pact holds
 * what the consumer's decode requires, and a producer passes with any
 * values its schema allows.
 */
export function matchersFor(example: unknown, schema: JsonSchema = {}): unknown {
  const s = schema.anyOf?.find((a) => a.type !== 'null') ?? schema;
  if (Array.isArray(example)) {
    if (example.length === 0) return MatchersV3.like([]);
    return MatchersV3.eachLike(matchersFor(example[0], s.items ?? {}), 1);
  }
  if (example !== null && typeof example === 'object') {
    return Object.fromEntries(Object.entries(example as Record<string, unknown>).map(([k, v]) => [k, matchersFor(v, s.properties?.[k] ?? {})]));
  }
  if (typeof example === 'string') {
    const values = s.enum ?? (s.const !== undefined ? [s.const] : undefined);
    if (values) return MatchersV3.regex(`^(${values.map((v) => escape(String(v))).join('|')})$`, example);
    if (s.format === 'uuid') return MatchersV3.uuid(example);
    if (s.format === 'date-time') return MatchersV3.regex('^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$', example);
    if (s.pattern) return MatchersV3.regex(s.pattern, example);
    return MatchersV3.string(example);
  }
  if (typeof example === 'number') return Number.isInteger(example) && s.type === 'integer' ? MatchersV3.integer(example) : MatchersV3.number(example);
  if (typeof example === 'boolean') return MatchersV3.boolean(example);
  return example;
}

/** The headers every consumer's envelope decode requires, and which must be exactly so. */
const EXACT_HEADERS = ['ce_specversion', 'ce_type', 'ce_schemaversion', 'ce_source', 'content-type'];
// Present when the consumer's example has them: the coordinator matches a reply to its step by its causation.
const PRESENT_HEADERS = ['ce_id', 'ce_time', 'ce_correlationid', 'ce_causationid'];

function metadataFor(message: OutgoingMessage): Record<string, string | ReturnType<typeof MatchersV3.string>> {
  const h = message.headers ?? {};
  const meta: Record<string, string | ReturnType<typeof MatchersV3.string>> = { topic: message.topic, key: MatchersV3.string(message.key ?? '') };
  for (const name of EXACT_HEADERS) if (h[name] !== undefined) meta[name] = h[name];
  for (const name of PRESENT_HEADERS) if (h[name] !== undefined) meta[name] = MatchersV3.string(h[name]);
  return meta;
}

/** A consumed bus message built from what Pact hands a consumer test (contents and metadata). */
function consumedFrom(contents: unknown, metadata: Record<string, unknown>): ConsumedMessage {
  const { topic, key, ...headers } = metadata as Record<string, string>;
  return {
    topic: String(topic),
    key: String(key),
    value: JSON.stringify(contents),
    headers,
    partition: 0,
    offset: 0,
    publishedAt: new Date(),
    attempt: 1,
  };
}

export interface ConsumerExpectation {
  consumer: string;
  provider: string;
  /** The provider state the message is sent in (`given`), as the provider's verification names it. */
  state: string;
  /** The message as its producer would publish it, built with the contract from the consumer's example data. */
  message: OutgoingMessage;
  /** The JSON Schema of the data in the consumer's version of the contract (for the matchers). */
  schema?: object;
  /** The consumer's real decode and handler: resolves when it handled the message, rejects otherwise. */
  handle(message: ConsumedMessage): Promise<void>;
  /** Where the pact file goes (default `PACTS_DIR`). */
  dir?: string;
}

/**
 * One consumer pact interaction: the message goes through `handle` (the
 * consumer's real message path, on a real database) as Pact reifies it from
 * the matchers, and, when it was handled, the interaction is written to the
 * consumer's pact file with its provider.
 */
export async function expectMessage(e: ConsumerExpectation): Promise<void> {
  const pact = new PactV4({ consumer: e.consumer, provider: e.provider, dir: e.dir ?? PACTS_DIR, logLevel: 'error' });
  const contents = JSON.parse(e.message.value) as unknown;
  await pact
    .addAsynchronousInteraction()
    .given(e.state)
    .expectsToReceive(messageDescription(e.message), (b) => {
      b.withJSONContent(matchersFor(contents, e.schema as JsonSchema));
      b.withMetadata(metadataFor(e.message));
    })
    .executeTest(async (m) => e.handle(consumedFrom(m.contents.content ?? m.contents, m.metadata as Record<string, unknown>)));
}

/** Removes a consumer's pact files before its tests write them again, so a dropped interaction does not linger. */
export function clearConsumerPacts(consumer: string, dir: string = PACTS_DIR): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (f.startsWith(`${consumer}-`) && f.endsWith('.json')) fs.rmSync(path.join(dir, f));
}

/** Where the pacts of consumers' earlier releases are kept, under the pacts directory: `<consumer>@<version>-<provider>.json`, committed. */
export const ARCHIVE_DIR = 'archive';

/**
 * The pact files that name `provider`: the consumers' current pacts in `dir`
 * (`PACTS_DIR`), then the archived pacts of their earlier releases still
 * deployed (`dir/archive`), so a producer proves it still serves an old
 * consumer as well as the new one.
 */
export function pactFilesFor(provider: string, dir: string = PACTS_DIR, kind: 'messages' | 'http' = 'messages'): string[] {
  // A pact holds message interactions or HTTP ones (the dashboard's with the analytics API), verified by different specs.
  const type = kind === 'messages' ? 'Asynchronous/Messages' : 'Synchronous/HTTP';
  const jsonIn = (d: string) =>
    fs.existsSync(d)
      ? fs
          .readdirSync(d)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(d, f))
      : [];
  return [...jsonIn(dir), ...jsonIn(path.join(dir, ARCHIVE_DIR))].filter((f) => {
    const pact = JSON.parse(fs.readFileSync(f, 'utf8')) as { provider: { name: string }; interactions: { type?: string }[] };
    return pact.provider.name === provider && pact.interactions.some((i) => i.type === type);
  });
}

export interface ProviderMessages {
  provider: string;
  version: string;
  /** The provider states it can put itself in; a pact naming another state fails. */
  states: readonly string[];
  /**
   * Per interaction description (`<type> v<version>`): the message its real
   * outbound mapping publishes, from events its real decider decides.
   */
  messages: Record<string, (state: string) => OutgoingMessage | Promise<OutgoingMessage>>;
  /** Where the pact files are read from and the results written to (defaults `PACTS_DIR`, `VERIFICATIONS_DIR`). */
  dir?: string;
  resultsDir?: string;
}

export interface VerificationRecord {
  provider: string;
  providerVersion: string;
  consumer: string;
  pactFile: string;
  /** The sha-256 of the pact file verified, so a stale result is told apart. */
  pactSha256: string;
  interactions: string[];
  verified: boolean;
  error?: string;
  at: string;
}

/**
 * Verifies every pact that names the provider, from the local files
 * (archived ones included, `pactFilesFor`), with Pact's verifier, and
 * records each file's result for `contracts:check` (`pactFile` keeps the
 * `archive/` part, which is how the gate tells an archived pact from the
 * current one of the same consumer). Resolves with the records; rejects
 * when a pact fails.
 */
export async function verifyProviderPacts(p: ProviderMessages): Promise<VerificationRecord[]> {
  const files = pactFilesFor(p.provider, p.dir);
  const records: VerificationRecord[] = [];
  const failures: string[] = [];
  for (const file of files) {
    const raw = fs.readFileSync(file, 'utf8');
    const pactJson = JSON.parse(raw) as { consumer: { name: string }; interactions: { description: string; providerStates?: { name: string }[] }[] };
    const messageProviders = Object.fromEntries(
      Object.entries(p.messages).map(([description, build]) => [
        description,
        async (descriptor: MessageDescriptor) => {
          const states = (descriptor.providerStates ?? []).map((s) => s.name);
          const unknown = states.filter((s) => !p.states.includes(s));
          if (unknown.length > 0) throw new Error(`${p.provider} knows no provider state ${unknown.join(', ')}`);
          const message = await build(states[0] ?? '');
          const { topic, key, value, headers } = message;
          return { __pactMessageMetadata: { ...headers, topic, key: key ?? '' }, message: JSON.parse(value) as unknown };
        },
      ]),
    );
    const verifier = new MessageProviderPact({ provider: p.provider, providerVersion: p.version, pactUrls: [file], messageProviders, logLevel: 'error' });
    const record: VerificationRecord = {
      provider: p.provider,
      providerVersion: p.version,
      consumer: pactJson.consumer.name,
      pactFile: path.relative(path.resolve(PACTS_DIR, '../..'), file),
      pactSha256: sha256(raw),
      interactions: pactJson.interactions.map((i) => i.description).sort(),
      verified: false,
      at: new Date().toISOString(),
    };
    // A state the provider cannot put itself in is named here: inside the verifier it would read as an empty message.
    const unknownStates = [...new Set(pactJson.interactions.flatMap((i) => (i.providerStates ?? []).map((s) => s.name)))].filter((s) => !p.states.includes(s));
    try {
      if (unknownStates.length > 0) throw new Error(`${p.provider} knows no provider state ${unknownStates.map((s) => `'${s}'`).join(', ')}`);
      await verifier.verify();
      record.verified = true;
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      failures.push(`${record.consumer} -> ${p.provider}: ${record.error}`);
    }
    records.push(record);
  }
  const resultsDir = p.resultsDir ?? VERIFICATIONS_DIR;
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, `${p.provider}.json`), JSON.stringify(records, null, 2) + '\n');
  if (failures.length > 0) throw new Error(`pact verification failed:\n${failures.join('\n')}`);
  return records;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * What the outbox relay would publish for these domain events, stored in
 * order on `streamId`: each event as the store records it, through the
 * producer's real outbound mapping (`toMessages`).
 */
export function publishedFor(
  toMessages: ToMessages,
  streamId: string,
  events: readonly { type: string }[],
  // As a handler's events carry them: the correlation of the saga, the message that caused them.
  metadata: EventMetadata = { correlationId: randomUUID(), causationId: randomUUID() },
): OutgoingMessage[] {
  const recorded = recordedEvents(events.map(({ type, ...data }) => ({ streamId, type, data, metadata })));
  return recorded.flatMap((r) => toMessages(r));
}

/** The one message of `type` among `messages`, or an error naming what there was. */
export function messageOfType(messages: readonly OutgoingMessage[], type: string): OutgoingMessage {
  const found = messages.filter((m) => m.headers?.ce_type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} message, got ${found.length} among ${messages.map((m) => m.headers?.ce_type).join(', ') || 'none'}`);
  return found[0]!;
}

/**
 * Hands `message` to a consumer's message path and resolves only when it
 * was handled: a rejection rejects with the reason, and a message ignored
 * (no handler takes its type) or dropped as a duplicate fails, so a pact
 * never records a message its consumer does not act on.
 */
export async function handleOnce(processor: Pick<MessageProcessor, 'stats' | 'handle'>, message: ConsumedMessage): Promise<void> {
  const before = processor.stats();
  await processor.handle(message);
  const after = processor.stats();
  if (after.handled !== before.handled + 1) {
    throw new Error(`${message.headers.ce_type ?? 'the message'} was not handled (ignored ${after.ignored - before.ignored}, duplicates ${after.duplicates - before.duplicates})`);
  }
}
