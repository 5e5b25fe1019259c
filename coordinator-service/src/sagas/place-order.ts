/**
 * The place-order saga (`place-order-<orderId>`), started by `order.placed`:
 *
 *   pricing -> reserving -> authorizing -> confirming -> committing -> completed
 *
 * A failure before the pivot (`confirming`) compensates what may have
 * succeeded, in reverse (voiding -> releasing), then rejects the order with
 * a reason a customer can read. From `confirming` on, steps are only retried.
 *
 * Cancel rule: a cancellation requested before the pivot stops the saga,
 * which compensates and ends the order cancelled (instead of rejected); from
 * the pivot on the saga finishes, and the cancel-order saga undoes the order.
 */
import { ConflictError } from '@shop/platform';
import {
  COMPENSABLE_STEPS,
  Decision,
  answersStep,
  isActive,
  isTerminal,
  retryOrFail,
  type DecisionContext,
  type SagaEvent,
  type SagaInput,
  type SagaState,
  type Step,
} from './saga';

/** What may have succeeded when the saga leaves a compensable step: undo it, most recent first. */
export function compensationsFor(step: Step | undefined): Step[] {
  switch (step) {
    case 'reserving':
      return ['releasing'];
    case 'authorizing':
      return ['voiding', 'releasing'];
    default:
      return [];
  }
}

const TIMEOUT_REASONS: Partial<Record<Step, string>> = {
  pricing: 'the catalog did not answer in time',
  reserving: 'the stock check did not answer in time',
  authorizing: 'the payment provider did not answer in time',
};

export function pricingRejectionReason(input: Extract<SagaInput, { type: 'OrderLinesPricingRejected' }>): string {
  const parts = [
    ...input.unknownSkus.map((sku) => `unknown product ${sku}`),
    ...input.discontinuedSkus.map((sku) => `${sku} is no longer sold`),
  ];
  return parts.length > 0 ? parts.join('; ') : input.reason;
}

export function shortageReason(input: Extract<SagaInput, { type: 'StockReservationFailed' }>): string {
  return input.shortages
    .map((s) => (s.available === 0 ? `${s.sku} is out of stock` : `only ${s.available} of ${s.sku} in stock (${s.requested} requested)`))
    .join('; ');
}

/** The steps the saga will still run the given command in: none once it is left (the command is then late). */
const pendingOrQueued = (state: SagaState, step: Step) => (isActive(state) && state.step === step) || state.plan.includes(step);

export function decidePlaceOrder(state: SagaState, input: SagaInput, ctx: DecisionContext): SagaEvent[] {
  const d = new Decision(state, ctx);
  if (input.type === 'OrderPlaced') {
    if (state.status !== 'new') return [];
    d.push({ type: 'SagaStarted', sagaType: 'place-order', orderId: input.orderId, customerId: input.customerId, lines: input.lines, startedAt: ctx.now });
    return d.accept(input).enter('pricing').events;
  }
  if (state.status === 'new') return [];
  switch (input.type) {
    case 'OrderLinesPriced':
      if (!answersStep(state, 'pricing', input)) return [];
      return d.accept(input).enter('reserving').events;
    case 'OrderLinesPricingRejected':
      if (!answersStep(state, 'pricing', input)) return [];
      return d.accept(input).plan('compensating', [], { kind: 'reject', reason: pricingRejectionReason(input) }).events;
    case 'StockReserved':
      if (answersStep(state, 'reserving', input) && state.phase === 'forward') return d.accept(input).enter('authorizing').events;
      // Reserved after the saga left the step (deadline, cancellation): release it, unless a release is under way.
      if (state.phase === 'forward' && !isTerminal(state)) return [];
      if (state.status === 'completed' || pendingOrQueued(state, 'releasing')) return [];
      return d.accept(input).late('releasing').events;
    case 'StockReservationFailed':
      if (!answersStep(state, 'reserving', input) || state.phase !== 'forward') return [];
      return d.accept(input).plan('compensating', [], { kind: 'reject', reason: shortageReason(input) }).events;
    case 'PaymentAuthorized':
      if (answersStep(state, 'authorizing', input) && state.phase === 'forward') return d.accept(input).enter('confirming').events;
      if (state.phase === 'forward' && !isTerminal(state)) return [];
      // Authorized after the saga left the step: void it, unless a void is under way.
      if (state.status === 'completed' || pendingOrQueued(state, 'voiding')) return [];
      return d.accept(input).late('voiding').events;
    case 'PaymentDeclined':
      if (!answersStep(state, 'authorizing', input) || state.phase !== 'forward') return [];
      return d.accept(input).plan('compensating', ['releasing'], { kind: 'reject', reason: 'the payment was declined' }).events;
    case 'OrderConfirmed':
      if (!answersStep(state, 'confirming', input)) return [];
      return d.accept(input).enter('committing').events;
    case 'ReservationCommitted':
      if (!answersStep(state, 'committing', input)) return [];
      return d.accept(input).end('completed').events;
    case 'CancellationRequested': {
      if (!isActive(state) || state.phase !== 'forward' || state.cancelRequested) return [];
      d.accept(input);
      if (!COMPENSABLE_STEPS.includes(state.step!)) return d.events; // past the pivot: finish; the cancel-order saga undoes
      const reason = input.reason ?? "cancelled at the customer's request";
      return d.plan('compensating', compensationsFor(state.step), { kind: 'cancel', reason }).events;
    }
    case 'AbortRequested': {
      if (isTerminal(state)) throw new ConflictError(`saga ${ctx.sagaId} has already ended (${state.status})`);
      if (state.phase !== 'forward' || !COMPENSABLE_STEPS.includes(state.step!)) {
        throw new ConflictError(
          `saga ${ctx.sagaId} is ${state.phase === 'forward' ? 'past the pivot (the order may be confirmed): cancel the order instead' : 'already compensating: retry it instead'}`,
        );
      }
      const reason = `aborted by an operator${input.reason ? `: ${input.reason}` : ''}`;
      return d.accept(input).plan('compensating', compensationsFor(state.step), { kind: 'reject', reason }).events;
    }
    default:
      return decideCommon(d, state, input, ctx, (step) => d.plan('compensating', compensationsFor(step), { kind: 'reject', reason: TIMEOUT_REASONS[step] ?? 'timed out' }));
  }
}

/**
 * Inputs both sagas treat alike: the replies to compensation steps, expired
 * deadlines and operator retries.
 */
export function decideCommon(
  d: Decision,
  state: SagaState,
  input: SagaInput,
  ctx: DecisionContext,
  compensate: (step: Step) => Decision,
): SagaEvent[] {
  switch (input.type) {
    case 'PaymentVoided':
      if (!answersStep(state, 'voiding', input)) return [];
      return d.accept(input).next().events;
    case 'StockReleased':
      if (!answersStep(state, 'releasing', input)) return [];
      return d.accept(input).next().events;
    case 'OrderRejected':
      if (!answersStep(state, 'rejecting', input)) return [];
      return d.accept(input).end('rejected', state.outcome?.reason ?? input.reason).events;
    case 'OrderCancelled':
      if (!answersStep(state, 'cancelling', input)) return [];
      return d.accept(input).end('cancelled', state.outcome?.reason ?? input.reason).events;
    case 'DeadlineExpired': {
      // A deadline of a step already passed, or of a saga that ended or failed, is ignored.
      if (state.deadline?.id !== input.deadlineId || (state.status !== 'running' && state.status !== 'compensating')) return [];
      d.accept(input);
      if (state.phase === 'forward' && COMPENSABLE_STEPS.includes(state.step!)) return compensate(state.step!).events;
      return retryOrFail(d, ctx.deadlines).events;
    }
    case 'RetryRequested': {
      if (isTerminal(state)) throw new ConflictError(`saga ${ctx.sagaId} has already ended (${state.status})`);
      if (!state.step || !state.command) throw new ConflictError(`saga ${ctx.sagaId} has no command to retry at step ${state.step ?? 'none'}`);
      // A new attempt: a new command id, so the participant runs it again (its decider is idempotent).
      return d.accept(input).enter(state.step, state.attempt + 1).events;
    }
    default:
      return [];
  }
}
