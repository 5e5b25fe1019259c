/**
 * The step table both sagas run on (the command, the deadline and what an
 * expired deadline means for each step) and the decisions they share:
 * entering a step, sending its command with a deadline and backoff, planning
 * compensations, ending, failing, and the inputs both sagas treat alike.
 * Pure: time (`now`), the deadline settings and the ids come in as data
 * (`DecisionContext`).
 *
 * A decision is built from parts (`Decision`: the events a part adds, given
 * the state the earlier parts made), put `inOrder`, so a later part sees
 * what the earlier ones did: `inOrder(accept(input), enter('reserving'))`.
 */
import { ConflictError } from '@shop/platform';
import { evolve } from './evolve';
import {
  AuthorizePayment,
  CancelOrder,
  CommitReservation,
  ConfirmOrder,
  PriceOrderLines,
  RejectOrder,
  ReleaseStock,
  ReserveStock,
  VoidPayment,
  type OrderLine,
} from '@shop/contracts';
import {
  command,
  currentStep,
  isActive,
  isTerminal,
  started,
  type ContractCommand,
  type EndStatus,
  type Outcome,
  type Phase,
  type SagaEvent,
  type SagaInput,
  type SagaState,
  type SagaType,
  type SagaData,
  type StartedSaga,
  type Step,
} from './saga-state';

/** Deadline settings per step, in milliseconds (from the service's configuration). */
export interface DeadlineSettings {
  pricingMs: number;
  reservationMs: number;
  paymentMs: number;
  confirmationMs: number;
  /** Commit, void, release, reject, cancel: steps that are retried, never compensated. */
  compensationMs: number;
  /** Sends of one attempt of a retried step (first send included) before the saga fails. */
  maxSends: number;
  /** Cap of the backoff between re-sends. */
  maxBackoffMs: number;
}

export const DEFAULT_DEADLINES: DeadlineSettings = {
  pricingMs: 3_000,
  reservationMs: 3_000,
  paymentMs: 6_000,
  confirmationMs: 3_000,
  compensationMs: 3_000,
  maxSends: 4,
  maxBackoffMs: 30_000,
};

/** What a decision needs besides the input and the state. */
export interface DecisionContext {
  sagaId: string;
  now: string;
  deadlines: DeadlineSettings;
  /** Deterministic ids (the platform's `deterministicId`), so a re-decision yields the same ids. */
  id: (...parts: (string | number)[]) => string;
}

/** What each saga's decider decides on: an input, in its context. */
export interface SagaCommand {
  input: SagaInput;
  ctx: DecisionContext;
}

/**
 * Forward steps before the pivot: an expired deadline (or a cancellation)
 * compensates, since nothing is promised yet. From `confirming` on, the
 * order may already be confirmed at the order service, so the remaining
 * steps, like every compensation, are retried with backoff and never undone
 * by this saga (a cancellation after that point is the cancel-order saga's).
 */
export const COMPENSABLE_STEPS: readonly Step[] = ['pricing', 'reserving', 'authorizing'];

export const isCompensable = (step: Step | undefined): step is Step => step !== undefined && COMPENSABLE_STEPS.includes(step);

/** Steps that undo an earlier step's effect. */
export const COMPENSATING_STEPS: readonly Step[] = ['voiding', 'releasing'];

export function deadlineMsFor(step: Step, settings: DeadlineSettings): number | undefined {
  switch (step) {
    case 'pricing':
      return settings.pricingMs;
    case 'reserving':
      return settings.reservationMs;
    case 'authorizing':
      return settings.paymentMs;
    case 'confirming':
      return settings.confirmationMs;
    case 'waiting-for-place-order':
      return undefined;
    default:
      return settings.compensationMs;
  }
}

/** The contract command a step issues, from the saga's state; undefined for a step that only waits. */
export function commandFor(saga: SagaData, step: Step): ContractCommand | undefined {
  const orderId = saga.orderId;
  const reason = saga.outcome?.reason ?? 'the order was not completed';
  switch (step) {
    case 'pricing':
      return command(PriceOrderLines, { orderId, lines: saga.lines });
    case 'reserving':
      return command(ReserveStock, { orderId, lines: saga.lines });
    case 'authorizing':
      return command(AuthorizePayment, { orderId, amount: saga.pricing!.total });
    case 'confirming':
      return command(ConfirmOrder, { orderId, lines: saga.pricing!.lines, total: saga.pricing!.total });
    case 'committing':
      return command(CommitReservation, { orderId });
    case 'voiding':
      return command(VoidPayment, { orderId });
    case 'releasing':
      return command(ReleaseStock, { orderId, reason });
    case 'rejecting':
      return command(RejectOrder, { orderId, reason });
    case 'cancelling':
      return command(CancelOrder, { orderId, reason });
    case 'waiting-for-place-order':
      return undefined;
  }
}

/** Contract reasons are at most 500 characters. */
export const customerReason = (text: string): string => (text.length <= 500 ? text : `${text.slice(0, 497)}...`);

/**
 * How many compensations the saga needed: each compensating step it entered
 * plus each late reply it had to undo. 0 means nothing was undone (a pricing
 * rejection, a shortage before anything was held, a confirmation).
 */
export const compensationsOf = (saga: SagaData): number => saga.visited.filter((s) => COMPENSATING_STEPS.includes(s)).length + saga.lateCommands;

/** The reply answers one of the current step's commands (replies without a causation id are taken at their word). */
export function answersStep(state: SagaState, step: Step, input: { causationId?: string }): boolean {
  if (!isActive(state) || state.current?.step !== step) return false;
  return input.causationId === undefined || state.current.commandIds.includes(input.causationId);
}

/** A part of a decision: the events it adds, given the state the earlier parts made. */
export type Decision = (state: SagaState) => readonly SagaEvent[];

export const nothing: Decision = () => [];

/** Parts decided one after the other, each on the state the ones before made. */
export function inOrder(...parts: Decision[]): Decision {
  return (state) => {
    const events: SagaEvent[] = [];
    let s = state;
    for (const part of parts) {
      const more = part(s);
      events.push(...more);
      s = more.reduce(evolve, s);
    }
    return events;
  };
}

const addMs = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** The step decisions, in one decision's context (its saga id, time, deadlines and ids). */
export function sagaSteps(ctx: DecisionContext) {
  const emit =
    (event: SagaEvent): Decision =>
    () => [event];

  const start = (sagaType: SagaType, order: { orderId: string; customerId: string; lines: OrderLine[] }): Decision =>
    emit({ type: 'SagaStarted', sagaType, orderId: order.orderId, customerId: order.customerId, lines: order.lines, startedAt: ctx.now });

  const accept = (input: SagaInput): Decision => emit({ type: 'InputAccepted', input, acceptedAt: ctx.now });

  /** Sends the current step's command (again, with the same id when `send` > 1) and schedules its deadline with backoff. */
  const send =
    (n: number): Decision =>
    (state) => {
      const saga = started(state);
      const at = saga?.current;
      if (!saga || !at) return [];
      const issued = commandFor(saga, at.step);
      if (!issued) return [];
      const commandId = ctx.id(ctx.sagaId, at.step, at.attempt);
      const events: SagaEvent[] = [{ type: 'CommandIssued', commandId, step: at.step, attempt: at.attempt, send: n, command: issued, issuedAt: ctx.now }];
      const base = deadlineMsFor(at.step, ctx.deadlines);
      if (base !== undefined) {
        const ms = Math.min(base * 2 ** (n - 1), Math.max(base, ctx.deadlines.maxBackoffMs));
        events.push({ type: 'DeadlineScheduled', deadlineId: ctx.id(ctx.sagaId, 'deadline', at.step, at.attempt, n), step: at.step, dueAt: addMs(ctx.now, ms) });
      }
      return events;
    };

  /** Enters a step: its command (id derived from saga, step and attempt) and its deadline. */
  const enter = (step: Step, attempt = 1): Decision =>
    inOrder((state) => [{ type: 'StepEntered', step, attempt, phase: started(state)?.phase ?? 'forward', enteredAt: ctx.now }], send(1));

  /** A compensation for a reply that came too late: issued once per late reply, outside the step sequence. */
  const late =
    (step: Step): Decision =>
    (state) => {
      const saga = started(state);
      const issued = saga && commandFor(saga, step);
      if (!saga || !issued) return [];
      const n = saga.lateCommands + 1;
      return [{ type: 'CommandIssued', commandId: ctx.id(ctx.sagaId, 'late', step, n), step, attempt: n, send: 1, command: issued, late: true, issuedAt: ctx.now }];
    };

  const end =
    (status: EndStatus, reason?: string): Decision =>
    (state) => {
      const saga = started(state);
      return [
        {
          type: 'SagaEnded',
          status,
          ...(reason ? { reason } : {}),
          endedAt: ctx.now,
          ...(saga?.startedAt ? { startedAt: saga.startedAt } : {}),
          compensations: saga ? compensationsOf(saga) : 0,
        },
      ];
    };

  /** Enters the next planned step; with none left, ends with the planned outcome. */
  const next: Decision = (state) => {
    const saga = started(state);
    const [step] = saga?.plan ?? [];
    if (step) return enter(step)(state);
    const outcome = saga?.outcome;
    return end(outcome?.kind === 'cancel' ? 'cancelled' : 'rejected', outcome?.reason)(state);
  };

  /** Sets the steps to run and the outcome, as given. */
  const changePlan = (phase: Phase, steps: Step[], outcome: Outcome): Decision => emit({ type: 'PlanChanged', phase, steps, outcome, at: ctx.now });

  /** Plans the steps, then the order's rejection or cancellation (with a reason a customer can read), and enters the first. */
  const plan = (phase: Phase, steps: Step[], outcome: Outcome): Decision => {
    const final: Step = outcome.kind === 'reject' ? 'rejecting' : 'cancelling';
    return inOrder(changePlan(phase, [...steps, final], { ...outcome, reason: customerReason(outcome.reason) }), next);
  };

  const fail = (reason: string): Decision => emit({ type: 'SagaFailed', reason, failedAt: ctx.now });

  /**
   * An expired deadline of a step that is retried: send the same command
   * again (same id, so the participant deduplicates) with a doubled deadline,
   * up to `maxSends`, then fail the saga for an operator.
   */
  const retryOrFail: Decision = (state) => {
    const at = currentStep(state);
    const sends = at?.sends ?? 0;
    if (sends < ctx.deadlines.maxSends) return send(sends + 1)(state);
    return fail(`no answer to ${at?.command?.type ?? at?.step} after ${sends} attempts`)(state);
  };

  return { start, accept, enter, late, end, next, changePlan, plan, fail, retryOrFail };
}

/**
 * Inputs both sagas treat alike: the replies to compensation steps, expired
 * deadlines and operator retries. `compensate` is what an expired deadline of
 * a compensable forward step means to the saga (the cancel-order saga has
 * none).
 */
export function decideShared(input: SagaInput, state: StartedSaga, ctx: DecisionContext, compensate: (step: Step) => Decision): Decision {
  const { accept, enter, next, end, retryOrFail } = sagaSteps(ctx);
  switch (input.type) {
    case 'PaymentVoided':
      return answersStep(state, 'voiding', input) ? inOrder(accept(input), next) : nothing;
    case 'StockReleased':
      return answersStep(state, 'releasing', input) ? inOrder(accept(input), next) : nothing;
    case 'OrderRejected':
      return answersStep(state, 'rejecting', input) ? inOrder(accept(input), end('rejected', state.outcome?.reason ?? input.reason)) : nothing;
    case 'OrderCancelled':
      return answersStep(state, 'cancelling', input) ? inOrder(accept(input), end('cancelled', state.outcome?.reason ?? input.reason)) : nothing;
    case 'DeadlineExpired': {
      // A deadline of a step already passed, or of a saga that ended or failed, is ignored.
      if ((state.status !== 'running' && state.status !== 'compensating') || state.deadline?.id !== input.deadlineId) return nothing;
      const step = state.current?.step;
      return inOrder(accept(input), state.phase === 'forward' && isCompensable(step) ? compensate(step) : retryOrFail);
    }
    case 'RetryRequested': {
      if (isTerminal(state)) throw new ConflictError(`saga ${ctx.sagaId} has already ended (${state.status})`);
      const at = state.current;
      if (!at?.command) throw new ConflictError(`saga ${ctx.sagaId} has no command to retry at step ${at?.step ?? 'none'}`);
      // A new attempt: a new command id, so the participant runs it again (its decider is idempotent).
      return inOrder(accept(input), enter(at.step, at.attempt + 1));
    }
    default:
      return nothing;
  }
}
