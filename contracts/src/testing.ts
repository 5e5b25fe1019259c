import { randomUUID } from 'node:crypto';
import type { ConsumedMessage, MessageMetadata } from '@shop/platform';
import { expectMessage } from '@shop/platform/testing/pacts';
import { publishedJsonSchemas } from './json-schemas';
import { buildMessage, type MessageData, type MessageDefinition } from './message';

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
