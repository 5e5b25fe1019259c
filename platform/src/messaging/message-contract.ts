import type { OutgoingMessage } from '../bus/bus';
import type { Envelope } from '../envelope/envelope';

/** The envelope attributes a message gets from what caused it (see `messageMetadataOf`). */
export interface MessageMetadata {
  /** Unique per message; derived from what caused it, so a re-send reuses it. */
  id: string;
  source: string;
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
  time?: string;
}

/**
 * What the platform's message path needs of a message that crosses a
 * service boundary. `contracts/` defines every one (`defineMessage`), with
 * its schema, version, topic and key; the platform only reads and builds
 * them through this interface, so it never imports a contract.
 */
export interface MessageContract<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly version: number;
  readonly kind: 'event' | 'command';
  readonly topic: string;
  /** The envelope's data in the current version (older versions upcast); a `NonRetriableError` when it is not valid. */
  read(envelope: Envelope): Data;
  /** Validates `data` and builds the keyed bus message (CloudEvents binary binding). */
  build(data: Data, meta: MessageMetadata): OutgoingMessage;
}

export type DataOf<C> = C extends MessageContract<string, infer D> ? D : never;

/** Looks contracts up by type (`contracts` in `contracts/`). */
export interface ContractRegistry {
  byType(type: string): MessageContract | undefined;
}
