import { SagaEnded } from '@shop/contracts';
import { INTERNAL, outboundMessages, send, type RecordedEvent } from '@shop/platform';
import { commandDefinition, sagaCodec, type SagaEvent, type SagaType } from '../../sagas/saga-state';

export const SOURCE = 'coordinator-service';

const SAGA_STREAM = /^saga-(place-order|cancel-order)-(.+)$/;

/**
 * `SagaEnded` -> `saga.ended`. Events stored before `SagaEnded` carried
 * `startedAt` have no duration to publish and are left out.
 */
function sagaEnded(e: Extract<SagaEvent, { type: 'SagaEnded' }>, recorded: RecordedEvent) {
  const match = SAGA_STREAM.exec(recorded.streamId);
  if (!match || !e.startedAt) return [];
  const sagaType = match[1] as SagaType;
  return send(
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
    { time: e.endedAt },
  );
}

/**
 * Stored saga event -> contract messages, for the outbox relay, one entry per
 * event type, read back with the saga codec. `CommandIssued` leaves as its
 * contract command (published by its definition); `SagaEnded` as
 * the `saga.ended` fact (analytics' saga durations and compensation rate).
 * The message id of a command is the command id
 * (`deterministicId(sagaId, step, attempt)`), not the event id: a re-send of
 * one attempt carries the same id, so the participant's inbox absorbs it when
 * the first send was already handled; its causation is the stored event.
 */
export const sagaEventToMessages = outboundMessages<SagaEvent>(
  SOURCE,
  {
    CommandIssued: (e, recorded) => send(commandDefinition(e.command.type), e.command.data, { id: e.commandId, causationId: recorded.id }),
    SagaEnded: sagaEnded,
    SagaStarted: INTERNAL,
    InputAccepted: INTERNAL,
    PlanChanged: INTERNAL,
    StepEntered: INTERNAL,
    DeadlineScheduled: INTERNAL,
    SagaFailed: INTERNAL,
  },
  sagaCodec,
);
