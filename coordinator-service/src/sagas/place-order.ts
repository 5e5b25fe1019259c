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
import { ConflictError, type Decider } from '@shop/platform';
import { sagaAggregate } from './evolve';
import { isActive, isTerminal, type SagaEvent, type SagaInput, type SagaState, type StartedSaga, type Step } from './saga-state';
import { answersStep, decideShared, inOrder, isCompensable, nothing, sagaSteps, type Decision, type DecisionContext, type SagaCommand } from './steps';

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
const pendingOrQueued = (state: StartedSaga, step: Step) => (isActive(state) && state.current?.step === step) || state.plan.includes(step);

function decision(input: SagaInput, state: SagaState, ctx: DecisionContext): Decision {
  const { start, accept, enter, plan, end, late } = sagaSteps(ctx);
  if (input.type === 'OrderPlaced') {
    return state.status === 'new' ? inOrder(start('place-order', input), accept(input), enter('pricing')) : nothing;
  }
  if (state.status === 'new') return nothing;
  const step = state.current?.step;
  switch (input.type) {
    case 'OrderLinesPriced':
      return answersStep(state, 'pricing', input) ? inOrder(accept(input), enter('reserving')) : nothing;
    case 'OrderLinesPricingRejected':
      if (!answersStep(state, 'pricing', input)) return nothing;
      return inOrder(accept(input), plan('compensating', [], { kind: 'reject', reason: pricingRejectionReason(input) }));
    case 'StockReserved':
      if (answersStep(state, 'reserving', input) && state.phase === 'forward') return inOrder(accept(input), enter('authorizing'));
      // Reserved after the saga left the step (deadline, cancellation): release it, unless a release is under way.
      if (state.phase === 'forward' && !isTerminal(state)) return nothing;
      if (state.status === 'completed' || pendingOrQueued(state, 'releasing')) return nothing;
      return inOrder(accept(input), late('releasing'));
    case 'StockReservationFailed':
      if (!answersStep(state, 'reserving', input) || state.phase !== 'forward') return nothing;
      return inOrder(accept(input), plan('compensating', [], { kind: 'reject', reason: shortageReason(input) }));
    case 'PaymentAuthorized':
      if (answersStep(state, 'authorizing', input) && state.phase === 'forward') return inOrder(accept(input), enter('confirming'));
      if (state.phase === 'forward' && !isTerminal(state)) return nothing;
      // Authorized after the saga left the step: void it, unless a void is under way.
      if (state.status === 'completed' || pendingOrQueued(state, 'voiding')) return nothing;
      return inOrder(accept(input), late('voiding'));
    case 'PaymentDeclined':
      if (!answersStep(state, 'authorizing', input) || state.phase !== 'forward') return nothing;
      return inOrder(accept(input), plan('compensating', ['releasing'], { kind: 'reject', reason: 'the payment was declined' }));
    case 'OrderConfirmed':
      return answersStep(state, 'confirming', input) ? inOrder(accept(input), enter('committing')) : nothing;
    case 'ReservationCommitted':
      return answersStep(state, 'committing', input) ? inOrder(accept(input), end('completed')) : nothing;
    case 'CancellationRequested': {
      if (!isActive(state) || state.phase !== 'forward' || state.cancelRequested) return nothing;
      if (!isCompensable(step)) return accept(input); // past the pivot: finish; the cancel-order saga undoes
      const reason = input.reason ?? "cancelled at the customer's request";
      return inOrder(accept(input), plan('compensating', compensationsFor(step), { kind: 'cancel', reason }));
    }
    case 'AbortRequested': {
      if (isTerminal(state)) throw new ConflictError(`saga ${ctx.sagaId} has already ended (${state.status})`);
      if (state.phase !== 'forward' || !isCompensable(step)) {
        throw new ConflictError(
          `saga ${ctx.sagaId} is ${state.phase === 'forward' ? 'past the pivot (the order may be confirmed): cancel the order instead' : 'already compensating: retry it instead'}`,
        );
      }
      const reason = `aborted by an operator${input.reason ? `: ${input.reason}` : ''}`;
      return inOrder(accept(input), plan('compensating', compensationsFor(step), { kind: 'reject', reason }));
    }
    default:
      return decideShared(input, state, ctx, (expired) =>
        plan('compensating', compensationsFor(expired), { kind: 'reject', reason: TIMEOUT_REASONS[expired] ?? 'timed out' }),
      );
  }
}

export const decidePlaceOrder = ({ input, ctx }: SagaCommand, state: SagaState): readonly SagaEvent[] => decision(input, state, ctx)(state);

/** The place-order saga: its stream's fold and codec, and its decisions on each input. */
export const placeOrderDecider: Decider<SagaCommand, SagaState, SagaEvent> = { ...sagaAggregate, decide: decidePlaceOrder };
