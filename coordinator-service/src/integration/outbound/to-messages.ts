import { SagaEnded, contracts, buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import type { OutgoingMessage, RecordedEvent } from '@shop/platform';
import type { SagaEvent, SagaType } from '../../sagas/saga';

export const SOURCE = 'coordinator-service';

const SAGA_STREAM = /^saga-(place-order|cancel-order)-(.+)$/;

/**
 * Stored saga event -> contract messages, for the outbox relay.
 * `CommandIssued` leaves as the contract command; `SagaEnded` as the
 * `saga.ended` fact (analytics' saga durations and compensation rate). The
 * message id of a command is the command id
 * (`deterministicId(sagaId, step, attempt)`), not the event id: a re-send
 * of one attempt carries the same id, so the participant's inbox absorbs it
 * when the first send was already handled.
 */
export function sagaEventToMessages(event: RecordedEvent): OutgoingMessage[] {
  const e = { type: event.type, ...(event.data as object) } as SagaEvent;
  if (e.type === 'SagaEnded') return sagaEndedMessages(event, e);
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

/**
 * `SagaEnded` -> `saga.ended`, with the stored event's id as message id (a
 * relay re-send carries the same id). Events stored before `SagaEnded`
 * carried `startedAt` have no duration to publish and are left out.
 */
function sagaEndedMessages(event: RecordedEvent, e: Extract<SagaEvent, { type: 'SagaEnded' }>): OutgoingMessage[] {
  const match = SAGA_STREAM.exec(event.streamId);
  if (!match || !e.startedAt) return [];
  const sagaType = match[1] as SagaType;
  return [
    buildMessage(
      SagaEnded,
      {
        sagaId: `${sagaType}-${match[2]!}`,
        sagaType,
        orderId: match[2]!,
        outcome: e.status,
        ...(e.reason ? { reason: e.reason } : {}),
        compensations: e.compensations ?? 0,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
        durationMs: Math.max(0, Date.parse(e.endedAt) - Date.parse(e.startedAt)),
      },
      {
        id: event.id,
        source: SOURCE,
        correlationId: event.metadata.correlationId ?? event.streamId,
        ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
        time: e.endedAt,
      },
    ),
  ];
}
