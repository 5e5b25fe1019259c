/**
 * What both sagas share: their inputs, the events of a saga stream, the
 * state those events fold into, and the step table (command, deadline and
 * what an expired deadline means for each step). Pure: no I/O, no clock;
 * time (`now`) and the deadline settings come in as data.
 *
 * A saga stream (`saga-<type>-<orderId>`) holds every input the saga
 * accepted (`InputAccepted`) and every output it decided (`CommandIssued`,
 * `DeadlineScheduled`), plus the transitions between them, so its whole
 * history can be read and replayed.
 */
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
  type MessageData,
  type MessageDefinition,
  type Money,
  type OrderLine,
  type PricedLine,
} from '@shop/contracts';

export type SagaType = 'place-order' | 'cancel-order';

export const sagaId = (type: SagaType, orderId: string): string => `${type}-${orderId}`;
export const sagaStreamId = (id: string): string => `saga-${id}`;

export type Step =
  | 'pricing'
  | 'reserving'
  | 'authorizing'
  | 'confirming'
  | 'committing'
  | 'waiting-for-place-order'
  | 'voiding'
  | 'releasing'
  | 'rejecting'
  | 'cancelling';

export type Phase = 'forward' | 'compensating';
export type SagaStatus = 'new' | 'running' | 'compensating' | 'completed' | 'rejected' | 'cancelled' | 'failed';
export const TERMINAL_STATUSES: readonly SagaStatus[] = ['completed', 'rejected', 'cancelled'];

/** How the order ends once the compensations ran. */
export interface Outcome {
  kind: 'reject' | 'cancel';
  reason: string;
}

/** What the place-order saga looked like when a cancellation arrived (read by the adapter, passed as data). */
export interface PlaceOrderSnapshot {
  status: SagaStatus;
  phase: Phase;
  step?: Step;
}

/**
 * Inputs: participants' replies and facts, deadline expiries and operator
 * requests. `causationId` is the id of the command a reply answers (the
 * envelope's `causationid`): a reply is taken as the answer to the current
 * step only when it answers one of that step's commands.
 */
export type SagaInput =
  | { type: 'OrderPlaced'; orderId: string; customerId: string; lines: OrderLine[] }
  | { type: 'OrderLinesPriced'; lines: PricedLine[]; total: Money; causationId?: string }
  | { type: 'OrderLinesPricingRejected'; unknownSkus: string[]; discontinuedSkus: string[]; reason: string; causationId?: string }
  | { type: 'StockReserved'; causationId?: string }
  | { type: 'StockReservationFailed'; shortages: { sku: string; requested: number; available: number }[]; causationId?: string }
  | { type: 'StockReleased'; causationId?: string }
  | { type: 'ReservationCommitted'; causationId?: string }
  | { type: 'PaymentAuthorized'; authorizationId: string; amount: Money; causationId?: string }
  | { type: 'PaymentDeclined'; reason: string; causationId?: string }
  | { type: 'PaymentVoided'; causationId?: string }
  | { type: 'OrderConfirmed'; causationId?: string }
  | { type: 'OrderRejected'; reason: string; causationId?: string }
  | { type: 'OrderCancelled'; reason: string; causationId?: string }
  | { type: 'CancellationRequested'; orderId: string; customerId: string; reason?: string; placeOrder?: PlaceOrderSnapshot | null }
  | { type: 'PlaceOrderCompleted' }
  | { type: 'DeadlineExpired'; deadlineId: string }
  | { type: 'RetryRequested'; by: string }
  | { type: 'AbortRequested'; by: string; reason?: string };

/** A contract command, by its contract type, with its data (as stored in `CommandIssued`). */
export interface SagaCommand {
  type: string;
  data: Record<string, unknown>;
}

/** A command built from its contract definition, so its data has the contract's type. */
export function command<D extends MessageDefinition>(definition: D, data: MessageData<D>): SagaCommand {
  return { type: definition.type, data: data as Record<string, unknown> };
}

export type SagaEvent =
  | { type: 'SagaStarted'; sagaType: SagaType; orderId: string; customerId: string; lines: OrderLine[]; startedAt: string }
  | { type: 'InputAccepted'; input: SagaInput; acceptedAt: string }
  | { type: 'PlanChanged'; phase: Phase; steps: Step[]; outcome: Outcome; at: string }
  | { type: 'StepEntered'; step: Step; attempt: number; phase: Phase; enteredAt: string }
  | {
      type: 'CommandIssued';
      commandId: string;
      step: Step;
      attempt: number;
      /** 1 for the first send; re-sends of one attempt keep its command id. */
      send: number;
      command: SagaCommand;
      /** A compensation for a reply that came after its step was left. */
      late?: boolean;
      issuedAt: string;
    }
  | { type: 'DeadlineScheduled'; deadlineId: string; step: Step; dueAt: string }
  | { type: 'SagaFailed'; reason: string; failedAt: string }
  | {
      type: 'SagaEnded';
      status: 'completed' | 'rejected' | 'cancelled';
      reason?: string;
      endedAt: string;
      /** When the saga started, carried here so the published `saga.ended` needs no other event. */
      startedAt?: string;
      /** Compensating steps run plus late replies compensated (see `compensationsOf`). */
      compensations?: number;
    };

export interface SagaState {
  status: SagaStatus;
  sagaType?: SagaType;
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  phase: Phase;
  step?: Step;
  attempt: number;
  sends: number;
  command?: SagaCommand;
  commandId?: string;
  /** Every command id issued for the current step (all attempts): replies to any of them count. */
  stepCommandIds: string[];
  deadline?: { id: string; step: Step; dueAt: string };
  pricing?: { lines: PricedLine[]; total: Money };
  authorized: boolean;
  reserved: boolean;
  /** Steps still to run after the current one, in order. */
  plan: Step[];
  outcome?: Outcome;
  cancelRequested: boolean;
  lateCommands: number;
  visited: Step[];
  reason?: string;
  startedAt?: string;
}

export const initialState: SagaState = {
  status: 'new',
  orderId: '',
  customerId: '',
  lines: [],
  phase: 'forward',
  attempt: 0,
  sends: 0,
  stepCommandIds: [],
  authorized: false,
  reserved: false,
  plan: [],
  cancelRequested: false,
  lateCommands: 0,
  visited: [],
};

export function evolve(state: SagaState, event: SagaEvent): SagaState {
  switch (event.type) {
    case 'SagaStarted':
      return {
        ...state,
        status: 'running',
        sagaType: event.sagaType,
        orderId: event.orderId,
        customerId: event.customerId,
        lines: event.lines,
        startedAt: event.startedAt,
      };
    case 'InputAccepted': {
      const input = event.input;
      switch (input.type) {
        case 'OrderLinesPriced':
          return { ...state, pricing: { lines: input.lines, total: input.total } };
        case 'PaymentAuthorized':
          return { ...state, authorized: true };
        case 'StockReserved':
          return { ...state, reserved: true };
        case 'CancellationRequested':
          return { ...state, cancelRequested: true };
        default:
          return state;
      }
    }
    case 'PlanChanged':
      return { ...state, phase: event.phase, plan: event.steps, outcome: event.outcome };
    case 'StepEntered': {
      const sameStep = state.step === event.step;
      const index = state.plan.indexOf(event.step);
      return {
        ...state,
        status: event.phase === 'forward' ? 'running' : 'compensating',
        phase: event.phase,
        step: event.step,
        attempt: event.attempt,
        sends: 0,
        stepCommandIds: sameStep ? state.stepCommandIds : [],
        plan: index >= 0 ? state.plan.slice(index + 1) : state.plan,
        visited: state.visited.includes(event.step) ? state.visited : [...state.visited, event.step],
        deadline: undefined,
      };
    }
    case 'CommandIssued':
      if (event.late) return { ...state, lateCommands: state.lateCommands + 1 };
      return {
        ...state,
        sends: event.send,
        command: event.command,
        commandId: event.commandId,
        stepCommandIds: state.stepCommandIds.includes(event.commandId) ? state.stepCommandIds : [...state.stepCommandIds, event.commandId],
      };
    case 'DeadlineScheduled':
      return { ...state, deadline: { id: event.deadlineId, step: event.step, dueAt: event.dueAt } };
    case 'SagaFailed':
      return { ...state, status: 'failed', reason: event.reason, deadline: undefined };
    case 'SagaEnded':
      return { ...state, status: event.status, ...(event.reason ? { reason: event.reason } : {}), deadline: undefined };
  }
}

export const sagaDecider = { initialState, evolve };

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

export interface DecisionContext {
  sagaId: string;
  now: string;
  deadlines: DeadlineSettings;
  /** Deterministic ids (the platform's `deterministicId`), so a re-decision yields the same ids. */
  id: (...parts: (string | number)[]) => string;
}

/**
 * Forward steps before the pivot: an expired deadline (or a cancellation)
 * compensates, since nothing is promised yet. From `confirming` on, the
 * order may already be confirmed at the order service, so the remaining
 * steps, like every compensation, are retried with backoff and never undone
 * by this saga (a cancellation after that point is the cancel-order saga's).
 */
export const COMPENSABLE_STEPS: readonly Step[] = ['pricing', 'reserving', 'authorizing'];

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
export function commandFor(state: SagaState, step: Step): SagaCommand | undefined {
  const orderId = state.orderId;
  const reason = state.outcome?.reason ?? 'the order was not completed';
  switch (step) {
    case 'pricing':
      return command(PriceOrderLines, { orderId, lines: state.lines });
    case 'reserving':
      return command(ReserveStock, { orderId, lines: state.lines });
    case 'authorizing':
      return command(AuthorizePayment, { orderId, amount: state.pricing!.total });
    case 'confirming':
      return command(ConfirmOrder, { orderId, lines: state.pricing!.lines, total: state.pricing!.total });
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

const addMs = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** Contract reasons are at most 500 characters. */
export const customerReason = (text: string): string => (text.length <= 500 ? text : `${text.slice(0, 497)}...`);

/**
 * Builds one decision: events are pushed in order and folded as they go,
 * so later events see the state the earlier ones made.
 */
export class Decision {
  readonly events: SagaEvent[] = [];
  state: SagaState;

  constructor(
    start: SagaState,
    private readonly ctx: DecisionContext,
  ) {
    this.state = start;
  }

  push(event: SagaEvent): this {
    this.events.push(event);
    this.state = evolve(this.state, event);
    return this;
  }

  accept(input: SagaInput): this {
    return this.push({ type: 'InputAccepted', input, acceptedAt: this.ctx.now });
  }

  /** Enters a step: its command (id derived from saga, step and attempt) and its deadline. */
  enter(step: Step, attempt = 1): this {
    this.push({ type: 'StepEntered', step, attempt, phase: this.state.phase, enteredAt: this.ctx.now });
    return this.send(1);
  }

  /** Sends the current step's command (again, with the same id when `send` > 1) and schedules its deadline with backoff. */
  send(send: number): this {
    const { step, attempt } = this.state;
    if (!step) return this;
    const command = commandFor(this.state, step);
    if (!command) return this;
    const commandId = this.ctx.id(this.ctx.sagaId, step, attempt);
    this.push({ type: 'CommandIssued', commandId, step, attempt, send, command, issuedAt: this.ctx.now });
    const base = deadlineMsFor(step, this.ctx.deadlines);
    if (base !== undefined) {
      const ms = Math.min(base * 2 ** (send - 1), Math.max(base, this.ctx.deadlines.maxBackoffMs));
      this.push({ type: 'DeadlineScheduled', deadlineId: this.ctx.id(this.ctx.sagaId, 'deadline', step, attempt, send), step, dueAt: addMs(this.ctx.now, ms) });
    }
    return this;
  }

  /** A compensation for a reply that came too late: issued once per late reply, outside the step sequence. */
  late(step: Step): this {
    const command = commandFor(this.state, step);
    if (!command) return this;
    const n = this.state.lateCommands + 1;
    return this.push({
      type: 'CommandIssued',
      commandId: this.ctx.id(this.ctx.sagaId, 'late', step, n),
      step,
      attempt: n,
      send: 1,
      command,
      late: true,
      issuedAt: this.ctx.now,
    });
  }

  /** Sets the steps to run and the outcome, then enters the first step. */
  plan(phase: Phase, steps: Step[], outcome: Outcome): this {
    const final: Step = outcome.kind === 'reject' ? 'rejecting' : 'cancelling';
    this.push({ type: 'PlanChanged', phase, steps: [...steps, final], outcome: { ...outcome, reason: customerReason(outcome.reason) }, at: this.ctx.now });
    return this.next();
  }

  /** Enters the next planned step; with none left, ends with the planned outcome. */
  next(): this {
    const [step] = this.state.plan;
    if (step) return this.enter(step);
    const outcome = this.state.outcome;
    return this.end(outcome?.kind === 'cancel' ? 'cancelled' : 'rejected', outcome?.reason);
  }

  end(status: 'completed' | 'rejected' | 'cancelled', reason?: string): this {
    return this.push({
      type: 'SagaEnded',
      status,
      ...(reason ? { reason } : {}),
      endedAt: this.ctx.now,
      ...(this.state.startedAt ? { startedAt: this.state.startedAt } : {}),
      compensations: compensationsOf(this.state),
    });
  }

  fail(reason: string): this {
    return this.push({ type: 'SagaFailed', reason, failedAt: this.ctx.now });
  }
}

/** Steps that undo an earlier step's effect. */
export const COMPENSATING_STEPS: readonly Step[] = ['voiding', 'releasing'];

/**
 * How many compensations the saga needed: each compensating step it entered
 * plus each late reply it had to undo. 0 means nothing was undone (a pricing
 * rejection, a shortage before anything was held, a confirmation).
 */
export const compensationsOf = (state: SagaState): number =>
  state.visited.filter((s) => COMPENSATING_STEPS.includes(s)).length + state.lateCommands;

export const isTerminal = (state: SagaState): boolean => TERMINAL_STATUSES.includes(state.status);

/** Working on a step: running, compensating, or failed on it (a late answer still moves it on). */
export const isActive = (state: SagaState): boolean =>
  state.status === 'running' || state.status === 'compensating' || state.status === 'failed';

/** The reply answers one of the current step's commands (replies without a causation id are taken at their word). */
export function answersStep(state: SagaState, step: Step, input: { causationId?: string }): boolean {
  if (!isActive(state) || state.step !== step) return false;
  return input.causationId === undefined || state.stepCommandIds.includes(input.causationId);
}

/**
 * The shared handling of an expired deadline for a step that is retried:
 * send the same command again (same id, so the participant deduplicates)
 * with a doubled deadline, up to `maxSends`, then fail the saga for an
 * operator. Compensable forward steps are the sagas' own business.
 */
export function retryOrFail(d: Decision, settings: DeadlineSettings): Decision {
  const { step, sends } = d.state;
  if (sends < settings.maxSends) return d.send(sends + 1);
  return d.fail(`no answer to ${d.state.command?.type ?? step} after ${sends} attempts`);
}
