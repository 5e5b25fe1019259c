import type { ConsumedMessage } from '../bus/bus';
import type { Envelope } from '../envelope/envelope';
import type { Work } from '../event-store/work';
import type { ContractRegistry, DataOf, MessageContract } from './message-contract';

/** A consumed message as its handler sees it: decoded, validated, in its contract's current version. */
export interface InboundMessage<Data = unknown> {
  /** The envelope id: what the inbox records and what the ids of its effects derive from. */
  readonly id: string;
  readonly data: Data;
  readonly contract: MessageContract;
  readonly envelope: Envelope;
  readonly bus: ConsumedMessage;
}

/**
 * Handles one message: decides through `work` (loads, decisions, staged
 * events), which the platform commits together with the inbox record. A
 * handler throws only for a broken rule (`NonRetriableError` or a 4xx
 * `PlatformError`: the message is dead-lettered with the reason) or broken
 * infrastructure (retried); an expected business outcome is an event.
 */
export type MessageHandler<Data> = (message: InboundMessage<Data>, work: Work) => Promise<unknown> | void;

export type Resolution = { contract: MessageContract; handler: MessageHandler<unknown> } | 'ignore' | { rejected: string };

/**
 * A consumer's handlers, one per contract message, registered with the
 * contract itself (`on(OrderPlaced, handler)`), so each handler's payload
 * type comes from the contract's schema. The topics consumed are those of the
 * registered contracts. A message of a type the registry knows, on the topic
 * its contract names, that no handler takes is acknowledged without being
 * read (another consumer's business, or a message added by a newer
 * producer). A type no contract defines, or any type on a topic its contract
 * does not name (a fact sent to a command topic), is rejected: dead-lettered.
 */
export class MessageHandlers {
  private readonly byType = new Map<string, { contract: MessageContract; handler: MessageHandler<unknown> }>();
  private readonly everyMessageOf = new Map<string, MessageHandler<unknown>>();

  constructor(readonly registry: ContractRegistry) {}

  on<C extends MessageContract>(contract: C, handler: MessageHandler<DataOf<C>>): this {
    if (this.byType.has(contract.type)) throw new Error(`two handlers for ${contract.type}`);
    this.byType.set(contract.type, { contract, handler: handler as MessageHandler<unknown> });
    return this;
  }

  /** One handler for every message the registry knows on these topics (an archive of everything). */
  onEveryMessageOf(topics: readonly string[], handler: MessageHandler<unknown>): this {
    for (const topic of topics) this.everyMessageOf.set(topic, handler);
    return this;
  }

  get topics(): string[] {
    return [...new Set([...[...this.byType.values()].map((h) => h.contract.topic), ...this.everyMessageOf.keys()])].sort();
  }

  get types(): string[] {
    return [...this.byType.keys()].sort();
  }

  /** What to do with a message of `type` that `consumer` received on `topic`. */
  resolve(type: string, topic: string, consumer: string): Resolution {
    const own = this.byType.get(type);
    const contract = own?.contract ?? this.registry.byType(type);
    if (!contract) return { rejected: `unknown message type ${type} on ${topic}: no contract defines it` };
    if (contract.topic !== topic) {
      const who = `the ${consumer.replace(/-/g, ' ')}`;
      const carries = [...this.byType.values()].some((h) => h.contract.topic === topic && h.contract.kind === 'command') ? 'command' : 'message';
      return { rejected: `${who} does not handle ${type} on ${topic}: ${type} is not a ${carries} ${who} handles (its contract puts it on ${contract.topic})` };
    }
    if (own) return own;
    const every = this.everyMessageOf.get(topic);
    return every ? { contract, handler: every } : 'ignore';
  }
}
