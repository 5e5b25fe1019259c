import { ATTR, SpanKind, Work, contextOf, deterministicId, foldEvents, tracer, tracingEnabled, type Clock, type Context, type Decider, type EventStore, type RecordedEvent } from '@shop/platform';
import { cancelOrderDecider } from './cancel-order';
import { sagaAggregate } from './evolve';
import { placeOrderDecider } from './place-order';
import { currentStep, isTerminal, placeOrderSnapshot, reasonOf, sagaId, sagaStreamId, type SagaEvent, type SagaInput, type SagaState, type SagaType } from './saga-state';
import type { DeadlineSettings, SagaCommand } from './steps';

/** Each saga type's decider; a saga stream is always loaded with its own (the unit of work and the cache know a stream by it). */
const DECIDERS: Record<SagaType, Decider<SagaCommand, SagaState, SagaEvent>> = { 'place-order': placeOrderDecider, 'cancel-order': cancelOrderDecider };

/**
 * Runs inputs through the sagas, in the unit of work of whatever caused them
 * (a participant's message, an expired deadline, an operator's request): load
 * the saga stream, decide, stage the events; the caller commits. Two
 * coordinator instances handling replies of one order serialise on the
 * stream: the second commit finds it moved and decides again. Deadlines
 * follow from the saga events (`saga_deadlines`, a follower of the log).
 */
export class Sagas {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly settings: DeadlineSettings,
  ) {}

  async apply(work: Work, type: SagaType, orderId: string, input: SagaInput): Promise<SagaState> {
    const id = sagaId(type, orderId);
    const ctx = { sagaId: id, now: this.clock.now().toISOString(), deadlines: this.settings, id: deterministicId };
    const { state, events } = await work.decide(sagaStreamId(id), DECIDERS[type], { input, ctx });
    if (tracingEnabled()) traceCompensation(type, id, state, events, contextOf(work.metadata));
    return state;
  }

  async load(id: string): Promise<{ state: SagaState; history: RecordedEvent[] }> {
    const history = await this.store.readStream(sagaStreamId(id));
    return { state: foldEvents(sagaAggregate, sagaAggregate.initialState, history), history };
  }

  /**
   * A cancellation first reaches the place-order saga (which stops and
   * compensates when it is before its pivot), then starts the cancel-order
   * saga with what the place-order saga looks like after that.
   */
  async requestCancellation(work: Work, input: Extract<SagaInput, { type: 'CancellationRequested' }>): Promise<void> {
    const placeOrder = await this.apply(work, 'place-order', input.orderId, input);
    await this.apply(work, 'cancel-order', input.orderId, { ...input, placeOrder: placeOrderSnapshot(placeOrder) });
    await this.reconcileCancellation(work, input.orderId);
  }

  /**
   * A cancel-order saga waiting for the place-order saga goes on once that
   * completed. Called after both a completion and a cancellation, so
   * whichever of the two lands last moves the waiting saga on.
   */
  async reconcileCancellation(work: Work, orderId: string): Promise<void> {
    const [placeOrder, cancel] = await Promise.all([
      work.load(sagaStreamId(sagaId('place-order', orderId)), DECIDERS['place-order']),
      work.load(sagaStreamId(sagaId('cancel-order', orderId)), DECIDERS['cancel-order']),
    ]);
    if (placeOrder.status !== 'completed' || currentStep(cancel)?.step !== 'waiting-for-place-order' || isTerminal(cancel)) return;
    // Its own cause: the same ids whichever of the two triggers gets here.
    const completed = new Work(work.unit, { key: deterministicId('place-order-completed', orderId), metadata: work.metadata });
    await this.apply(completed, 'cancel-order', orderId, { type: 'PlaceOrderCompleted' });
  }
}

/**
 * Makes a compensation visible in the order's trace (a child of the span of
 * the message or expiry the decision answers: its work's trace context): `compensate <saga type>` when the saga turns to
 * compensating, and `compensate <step>` for each compensating command it
 * issues, with the reason as `shop.saga.compensation.reason`.
 */
function traceCompensation(type: SagaType, id: string, state: SagaState, events: readonly SagaEvent[], parent: Context): void {
  const turned = events.find((e): e is Extract<SagaEvent, { type: 'PlanChanged' }> => e.type === 'PlanChanged' && e.phase === 'compensating');
  const reason = turned?.outcome.reason ?? reasonOf(state) ?? 'unknown';
  const base = { [ATTR.sagaType]: type, [ATTR.sagaId]: id, [ATTR.compensationReason]: reason };
  if (turned) {
    tracer.startSpan(`compensate ${type}`, { kind: SpanKind.INTERNAL, attributes: { ...base, 'shop.saga.compensation.steps': turned.steps.join(',') } }, parent).end();
  }
  const compensating = turned !== undefined || state.status === 'compensating';
  for (const e of events) {
    if (e.type !== 'CommandIssued' || !(compensating || e.late)) continue;
    tracer.startSpan(
      `compensate ${e.step}`,
      { kind: SpanKind.INTERNAL, attributes: { ...base, [ATTR.sagaStep]: e.step, 'shop.saga.command': e.command.type, 'shop.saga.compensation.late': e.late === true } },
      parent,
    ).end();
  }
}
