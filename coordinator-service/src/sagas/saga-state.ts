/**
 * What both sagas share: their inputs, the events of a saga stream (with
 * their schemas and codec), and the state those events fold into, a union on
 * the saga's status. Pure: no I/O, no clock.
 *
 * A saga stream (`saga-<type>-<orderId>`) holds every input the saga
 * accepted (`InputAccepted`) and every output it decided (`CommandIssued`,
 * `DeadlineScheduled`), plus the transitions between them, so its whole
 * history can be read and replayed. `evolve` (evolve.ts) folds it.
 */
import { z } from 'zod';
import {
  AuthorizePayment,
  CancelOrder,
  CommitReservation,
  ConfirmOrder,
  Money,
  OrderId,
  OrderLine,
  PriceOrderLines,
  PricedLine,
  RejectOrder,
  ReleaseStock,
  ReserveStock,
  Timestamp,
  VoidPayment,
  type MessageData,
  type MessageDefinition,
} from '@shop/contracts';
import { eventCodec, type MessageContract } from '@shop/platform';

export type SagaType = 'place-order' | 'cancel-order';

export const sagaId = (type: SagaType, orderId: string): string => `${type}-${orderId}`;
export const sagaStreamId = (id: string): string => `saga-${id}`;

const STEPS = [
  'pricing',
  'reserving',
  'authorizing',
  'confirming',
  'committing',
  'waiting-for-place-order',
  'voiding',
  'releasing',
  'rejecting',
  'cancelling',
] as const;
export type Step = (typeof STEPS)[number];

export type Phase = 'forward' | 'compensating';
const END_STATUSES = ['completed', 'rejected', 'cancelled'] as const;
export type EndStatus = (typeof END_STATUSES)[number];
export type SagaStatus = SagaState['status'];
export const TERMINAL_STATUSES: readonly EndStatus[] = END_STATUSES;

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

/** The contract commands the sagas issue, by their definitions in `@shop/contracts`. */
export const SAGA_COMMANDS = [
  PriceOrderLines,
  ReserveStock,
  AuthorizePayment,
  ConfirmOrder,
  CommitReservation,
  VoidPayment,
  ReleaseStock,
  RejectOrder,
  CancelOrder,
] as const;
type SagaCommandDefinition = (typeof SAGA_COMMANDS)[number];

/** A contract command as `CommandIssued` stores it: its contract type, and data of that contract's type. */
export type ContractCommand = { [D in SagaCommandDefinition as D['type']]: { type: D['type']; data: MessageData<D> } }[SagaCommandDefinition['type']];

/** A command built from its contract definition, so its data has the contract's type (and only the sagas' commands are a `ContractCommand`). */
export function command<Type extends string, Schema extends z.ZodType>(
  definition: MessageDefinition<Type, Schema>,
  data: z.infer<Schema>,
): { type: Type; data: z.infer<Schema> } {
  return { type: definition.type, data };
}

/** The definition of a stored command, to publish it by. */
export function commandDefinition(type: ContractCommand['type']): MessageContract {
  const definition = SAGA_COMMANDS.find((d) => d.type === type);
  if (!definition) throw new Error(`saga issued ${type}, which is not a command the sagas issue`);
  return definition;
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
      command: ContractCommand;
      /** A compensation for a reply that came after its step was left. */
      late?: boolean;
      issuedAt: string;
    }
  | { type: 'DeadlineScheduled'; deadlineId: string; step: Step; dueAt: string }
  | { type: 'SagaFailed'; reason: string; failedAt: string }
  | {
      type: 'SagaEnded';
      status: EndStatus;
      reason?: string;
      endedAt: string;
      /** When the saga started, carried here so the published `saga.ended` needs no other event. */
      startedAt?: string;
      /** Compensating steps run plus late replies compensated (see `compensationsOf`). */
      compensations?: number;
    };

// The stored data of each event type, as it has been written since the sagas exist.
const StepSchema = z.enum(STEPS);
const PhaseSchema = z.enum(['forward', 'compensating']);
const EndStatusSchema = z.enum(END_STATUSES);
const Reply = { causationId: z.string().optional() };

const SagaInputSchema: z.ZodType<SagaInput> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('OrderPlaced'), orderId: OrderId, customerId: z.string(), lines: z.array(OrderLine) }),
  z.object({ type: z.literal('OrderLinesPriced'), lines: z.array(PricedLine), total: Money, ...Reply }),
  z.object({
    type: z.literal('OrderLinesPricingRejected'),
    unknownSkus: z.array(z.string()),
    discontinuedSkus: z.array(z.string()),
    reason: z.string(),
    ...Reply,
  }),
  z.object({ type: z.literal('StockReserved'), ...Reply }),
  z.object({
    type: z.literal('StockReservationFailed'),
    shortages: z.array(z.object({ sku: z.string(), requested: z.number(), available: z.number() })),
    ...Reply,
  }),
  z.object({ type: z.literal('StockReleased'), ...Reply }),
  z.object({ type: z.literal('ReservationCommitted'), ...Reply }),
  z.object({ type: z.literal('PaymentAuthorized'), authorizationId: z.string(), amount: Money, ...Reply }),
  z.object({ type: z.literal('PaymentDeclined'), reason: z.string(), ...Reply }),
  z.object({ type: z.literal('PaymentVoided'), ...Reply }),
  z.object({ type: z.literal('OrderConfirmed'), ...Reply }),
  z.object({ type: z.literal('OrderRejected'), reason: z.string(), ...Reply }),
  z.object({ type: z.literal('OrderCancelled'), reason: z.string(), ...Reply }),
  z.object({
    type: z.literal('CancellationRequested'),
    orderId: OrderId,
    customerId: z.string(),
    reason: z.string().optional(),
    placeOrder: z
      .object({
        status: z.enum(['new', 'running', 'compensating', 'failed', ...END_STATUSES]),
        phase: PhaseSchema,
        step: StepSchema.optional(),
      })
      .nullable()
      .optional(),
  }),
  z.object({ type: z.literal('PlaceOrderCompleted') }),
  z.object({ type: z.literal('DeadlineExpired'), deadlineId: z.string() }),
  z.object({ type: z.literal('RetryRequested'), by: z.string() }),
  z.object({ type: z.literal('AbortRequested'), by: z.string(), reason: z.string().optional() }),
]);

const commandSchema = <Type extends string, Schema extends z.ZodType>(definition: MessageDefinition<Type, Schema>) =>
  z.object({ type: z.literal(definition.type), data: definition.schema });
/** A stored command is read back with its contract's own schema. */
const ContractCommandSchema: z.ZodType<ContractCommand> = z.discriminatedUnion('type', [
  commandSchema(PriceOrderLines),
  commandSchema(ReserveStock),
  commandSchema(AuthorizePayment),
  commandSchema(ConfirmOrder),
  commandSchema(CommitReservation),
  commandSchema(VoidPayment),
  commandSchema(ReleaseStock),
  commandSchema(RejectOrder),
  commandSchema(CancelOrder),
]);

export const sagaCodec = eventCodec<SagaEvent>({
  SagaStarted: z.object({
    sagaType: z.enum(['place-order', 'cancel-order']),
    orderId: OrderId,
    customerId: z.string(),
    lines: z.array(OrderLine),
    startedAt: Timestamp,
  }),
  InputAccepted: z.object({ input: SagaInputSchema, acceptedAt: Timestamp }),
  PlanChanged: z.object({
    phase: PhaseSchema,
    steps: z.array(StepSchema),
    outcome: z.object({ kind: z.enum(['reject', 'cancel']), reason: z.string() }),
    at: Timestamp,
  }),
  StepEntered: z.object({ step: StepSchema, attempt: z.number().int(), phase: PhaseSchema, enteredAt: Timestamp }),
  CommandIssued: z.object({
    commandId: z.uuid(),
    step: StepSchema,
    attempt: z.number().int(),
    send: z.number().int(),
    command: ContractCommandSchema,
    late: z.boolean().optional(),
    issuedAt: Timestamp,
  }),
  DeadlineScheduled: z.object({ deadlineId: z.uuid(), step: StepSchema, dueAt: Timestamp }),
  SagaFailed: z.object({ reason: z.string(), failedAt: Timestamp }),
  SagaEnded: z.object({
    status: EndStatusSchema,
    reason: z.string().optional(),
    endedAt: Timestamp,
    startedAt: Timestamp.optional(),
    compensations: z.number().int().optional(),
  }),
});

/** The step a saga is at (or ended at): its attempt, its sends, and the command issued for it. */
export interface CurrentStep {
  step: Step;
  attempt: number;
  /** Sends of this attempt's command so far (re-sends keep its id). */
  sends: number;
  /** None for a step that only waits. */
  command?: ContractCommand;
  commandId?: string;
  /** Every command id issued for this step (all attempts): replies to any of them count. */
  commandIds: string[];
}

export interface Deadline {
  id: string;
  step: Step;
  dueAt: string;
}

/** Before the saga's first event. */
export interface NewSaga {
  status: 'new';
}

/** What a started saga carries, whatever its status. */
export interface SagaData {
  sagaType: SagaType;
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  startedAt: string;
  /** The priced lines and total, once the catalog answered. */
  pricing?: { lines: PricedLine[]; total: Money };
  /** The plan it follows: its phase, the steps still to run after the current one (in order), and how it ends. */
  phase: Phase;
  plan: Step[];
  outcome?: Outcome;
  /** From its first `StepEntered` on. */
  current?: CurrentStep;
  /** Every step it entered, in order. */
  visited: Step[];
  /** Compensations issued for replies that came after their step was left. */
  lateCommands: number;
  cancelRequested: boolean;
  /** Why it failed or ended; a failure's reason stays while a retried saga goes on, until it ends with a reason of its own. */
  reason?: string;
}

/** Working forward (or, within one decision, between a new plan and its first step). */
export interface RunningSaga extends SagaData {
  status: 'running';
  deadline?: Deadline;
}

/** Running the compensations of its plan. */
export interface CompensatingSaga extends SagaData {
  status: 'compensating';
  current: CurrentStep;
  deadline?: Deadline;
}

/** A retried step had no answer after its last send: waiting for an operator (a late answer still moves it on). */
export interface FailedSaga extends SagaData {
  status: 'failed';
  reason: string;
}

export interface EndedSaga extends SagaData {
  status: EndStatus;
}

export type SagaState = NewSaga | RunningSaga | CompensatingSaga | FailedSaga | EndedSaga;
export type StartedSaga = Exclude<SagaState, NewSaga>;
export type ActiveSaga = RunningSaga | CompensatingSaga | FailedSaga;

export const initialState: SagaState = { status: 'new' };

/** The started saga's data (none before its first event). */
export const started = (state: SagaState): StartedSaga | undefined => (state.status === 'new' ? undefined : state);

export const currentStep = (state: SagaState): CurrentStep | undefined => started(state)?.current;

/** The deadline of the step it waits on (only a running or compensating saga has one). */
export const pendingDeadline = (state: SagaState): Deadline | undefined =>
  state.status === 'running' || state.status === 'compensating' ? state.deadline : undefined;

export const reasonOf = (state: SagaState): string | undefined => started(state)?.reason;

export const isTerminal = (state: SagaState): state is EndedSaga => (TERMINAL_STATUSES as readonly string[]).includes(state.status);

/** Working on a step: running, compensating, or failed on it (a late answer still moves it on). */
export const isActive = (state: SagaState): state is ActiveSaga =>
  state.status === 'running' || state.status === 'compensating' || state.status === 'failed';

/** What the cancel-order saga is told about the place-order saga (null: there is none). */
export function placeOrderSnapshot(state: SagaState): PlaceOrderSnapshot | null {
  if (state.status === 'new') return null;
  return { status: state.status, phase: state.phase, ...(state.current ? { step: state.current.step } : {}) };
}
