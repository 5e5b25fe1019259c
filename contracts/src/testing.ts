import { randomUUID } from 'node:crypto';
import type { ConsumedMessage, MessageMetadata, OutgoingMessage } from '@shop/platform';
import { expectMessage, messageDescription } from '@shop/platform/testing/pacts';
import { expect } from 'vitest';
import { allMessages, contracts } from './index';
import { publishedJsonSchemas } from './json-schemas';
import { buildMessage, decodeContract, listedVersions, type MessageData, type MessageDefinition } from './message';

export interface ContractInteraction<D extends MessageDefinition> {
  definition: D;
  /** The provider state, as the producer's verification names it. */
  state: string;
  /** The consumer's example, in the current version's shape (built at `version` through the downcasts). */
  data: MessageData<D>;
  /** The consumer's real message path: resolves only when it handled the message and its effect is seen. */
  handle(message: ConsumedMessage): Promise<void>;
  /** An older version the producer may still publish (default: the current one). */
  version?: number;
  /** Headers beyond id, source, correlation and time (a reply's causation). */
  meta?: Partial<MessageMetadata>;
}

/**
 * One consumer pact interaction for a contract message: the example built
 * as its producer publishes it, at the version asked, with the matchers of
 * that version's JSON Schema (`expectMessage` of the platform's harness).
 */
export function expectContractMessage<D extends MessageDefinition>(consumer: string, i: ContractInteraction<D>): Promise<void> {
  const version = i.version ?? i.definition.version;
  const meta = { id: randomUUID(), source: i.definition.producer, correlationId: randomUUID(), time: new Date().toISOString(), ...i.meta };
  return expectMessage({
    consumer,
    provider: i.definition.producer,
    state: i.state,
    message: buildMessage(i.definition, i.data, meta, { version }),
    schema: publishedJsonSchemas([i.definition])[`${i.definition.type}@v${version}`] as object,
    handle: i.handle,
  });
}

/**
 * A producer's provider spec builds every version it may publish of every
 * message the catalogue says it produces, no more, each named as its pact
 * interaction and decoding under its contract.
 */
export async function expectProducedMessages(producer: string, messages: Record<string, () => OutgoingMessage | Promise<OutgoingMessage>>): Promise<void> {
  const produced = allMessages.filter((d) => d.producer === producer).flatMap((d) => listedVersions(d).map((v) => `${d.type} v${v}`));
  expect(Object.keys(messages).sort()).toEqual(produced.sort());
  for (const [description, build] of Object.entries(messages)) {
    const message = await build();
    expect(messageDescription(message)).toBe(description);
    expect(() => decodeContract(contracts, { value: message.value, headers: message.headers ?? {} })).not.toThrow();
  }
}

/** An outgoing bus message as a consumer receives it (first delivery, partition 0). */
export function asConsumed(out: OutgoingMessage): ConsumedMessage {
  return { ...out, headers: out.headers ?? {}, partition: 0, offset: 0, publishedAt: new Date(), attempt: 1 };
}

/** A coordinator command as a participant receives it from the bus. */
export function commandMessage<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID()): ConsumedMessage {
  return asConsumed(buildMessage(definition, data, { id, source: 'coordinator-service', correlationId: randomUUID() }));
}
