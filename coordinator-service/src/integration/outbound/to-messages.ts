import { contracts, buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { SagaEvent } from '../../sagas/saga';

export const SOURCE = 'coordinator-service';

/**
 * Stored saga event -> contract command, for the outbox relay. Only
 * `CommandIssued` leaves the service. The message id is the command id
 * (`deterministicId(sagaId, step, attempt)`), not the event id: a re-send
 * of one attempt carries the same id, so the participant's inbox absorbs it
 * when the first send was already handled.
 */
export function sagaEventToMessages(event: RecordedEvent): OutgoingMessage[] {
  const e = { type: event.type, ...(event.data as object) } as SagaEvent;
  if (e.type !== 'CommandIssued') return [];
  const definition = contracts.byType(e.command.type) as MessageDefinition | undefined;
  if (!definition || definition.kind !== 'command') throw new Error(`saga issued ${e.command.type}, which is not a contract command`);
  return [
    buildMessage(definition, e.command.data as MessageData<MessageDefinition>, {
      id: e.commandId,
      source: SOURCE,
      correlationId: event.metadata.correlationId ?? event.streamId,
      causationId: event.id,
      ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
      time: event.recordedAt.toISOString(),
    }),
  ];
}
