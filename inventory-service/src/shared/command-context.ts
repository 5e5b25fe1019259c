import { deterministicId, type EventMetadata } from '@shop/platform';

/** What a write carries from its cause: the message that caused it (for derived event ids) and the trace metadata. */
export interface CommandContext {
  /** The envelope id of the causing message; absent for HTTP writes (random event ids). */
  messageId?: string;
  metadata?: EventMetadata;
}

/**
 * Event ids derived from the causing message, the stream and the step, so
 * one message that writes several streams, or one stream twice, never
 * reuses an id, and a redelivery reproduces the same ids.
 */
export function eventIds(context: CommandContext, streamId: string, step: string): ((index: number) => string) | undefined {
  const { messageId } = context;
  return messageId === undefined ? undefined : (index) => deterministicId(messageId, streamId, step, index);
}
