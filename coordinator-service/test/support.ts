import { randomUUID } from 'node:crypto';
import { buildMessage, contracts, decodeContract, type MessageData, type MessageDefinition } from '@shop/contracts';
import { MessageProcessor, deterministicId, systemClock, type Consumer, type Decider, type Envelope, type HostedService, type EventStore, type Inbox, type Role } from '@shop/platform';
import { startServiceForTest, waitFor, type GivenEvent, type SagaStep, type ServiceUnderTest, type TestResponse } from '@shop/platform/testing';
import { coordinatorService } from '../src/composition';
import { COORDINATOR_CONSUMER, participantEventHandlers } from '../src/integration/inbound/participant-events';
import { cancelOrderDecider } from '../src/sagas/cancel-order';
import { placeOrderDecider } from '../src/sagas/place-order';
import { Sagas } from '../src/sagas/sagas';
import { currentStep, pendingDeadline, sagaCodec, sagaId, sagaStreamId, type SagaEvent, type SagaInput, type SagaState, type SagaType } from '../src/sagas/saga-state';
import { DEFAULT_DEADLINES, type DeadlineSettings, type SagaCommand } from '../src/sagas/steps';

/**
 * The coordinator started by the platform's harness (`startServiceForTest`),
 * by default as two instances on one coordinator database and one bus
 * database, plus what the tests play the participants with: a listener of
 * every `*.commands` topic and of `coordinator.events`, and a publisher of
 * replies.
 */
export class CoordinatorFixture {
  readonly commands: Envelope[] = [];
  /** Facts the coordinator published (`saga.ended`). */
  readonly facts: Envelope[] = [];

  private listener: Consumer | undefined;

  private constructor(readonly harness: ServiceUnderTest) {}

  static async start(label: string, env: Record<string, string> = {}, instances = 2): Promise<CoordinatorFixture> {
    const fixture = new CoordinatorFixture(
      await startServiceForTest(coordinatorService, { label, env: { DEADLINE_POLL_MS: '100', ...env }, instances }),
    );
    try {
      await fixture.listen();
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  private async listen(): Promise<void> {
    this.listener = this.harness.bus.consumer({
      groupId: `test-participants-${randomUUID()}`,
      topics: ['catalog.commands', 'inventory.commands', 'order.commands', 'coordinator.events'],
      startFrom: 'earliest',
      handler: async (message) => {
        const { envelope } = decodeContract(contracts, message);
        (message.topic === 'coordinator.events' ? this.facts : this.commands).push(envelope);
      },
    });
    await this.listener.start();
  }

  get instances(): HostedService[] {
    return this.harness.instances;
  }

  get db() {
    return this.harness.db;
  }

  startInstance(): Promise<HostedService> {
    return this.harness.startInstance();
  }

  stopInstances(): Promise<void> {
    return this.harness.stopInstances();
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
    await this.harness.stop();
  }

  commandsFor(orderId: string, type?: string): Envelope[] {
    return this.commands.filter((c) => c.subject === orderId && (type === undefined || c.type === type));
  }

  /** Waits for the coordinator's `saga.ended` fact about the order (of the given saga type), and returns it. */
  async sagaEnded(orderId: string, sagaType = 'place-order', timeoutMs = 15_000): Promise<Envelope> {
    const find = () => this.facts.find((f) => f.subject === orderId && (f.data as { sagaType: string }).sagaType === sagaType);
    await waitFor(() => find() !== undefined, timeoutMs);
    return find()!;
  }

  /** Waits for the `n`-th command of `type` about the order, and returns it. */
  async command(orderId: string, type: string, n = 1, timeoutMs = 15_000): Promise<Envelope> {
    await waitFor(() => this.commandsFor(orderId, type).length >= n, timeoutMs);
    return this.commandsFor(orderId, type)[n - 1]!;
  }

  /** Publishes a participant's message; `answering` is the command it replies to (its causation). */
  async publish<D extends MessageDefinition>(definition: D, data: MessageData<D>, answering?: Envelope, id: string = randomUUID()): Promise<string> {
    const message = buildMessage(definition, data, {
      id,
      source: definition.producer,
      correlationId: answering?.correlationid ?? id,
      ...(answering ? { causationId: answering.id } : {}),
    });
    await this.harness.bus.publish([message]);
    return id;
  }

  token(sub: string, role: Role): Promise<string> {
    return this.harness.token(role, sub);
  }

  request(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<TestResponse> {
    return this.harness.request(method, path, options);
  }

  async sagaEvents(sagaId: string) {
    return this.harness.store.readStream(`saga-${sagaId}`);
  }

  async waitStatus(sagaId: string, status: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => {
      const events = await this.sagaEvents(sagaId);
      const last = [...events].reverse().find((e) => e.type === 'SagaEnded' || e.type === 'SagaFailed' || e.type === 'StepEntered');
      if (!last) return false;
      const e = sagaCodec.decode(last);
      const current = e.type === 'SagaFailed' ? 'failed' : e.type === 'SagaEnded' ? e.status : e.type === 'StepEntered' && e.phase === 'forward' ? 'running' : 'compensating';
      return current === status;
    }, timeoutMs);
  }
}

/**
 * What one coordinator process runs for the participants' events, on the
 * harness's event store: its sagas and the platform's message path over
 * them, so a test can hand it messages directly.
 */
export function coordinatorProcess(store: EventStore & Inbox, deadlines: DeadlineSettings = DEFAULT_DEADLINES) {
  const sagas = new Sagas(store, systemClock, deadlines);
  const processor = new MessageProcessor({ consumer: COORDINATOR_CONSUMER, handlers: participantEventHandlers(sagas), store, inbox: store });
  return { sagas, processor };
}

/** Decisions are taken a minute apart from this time on (`sagaDecisions`). */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/**
 * A saga stream as the coordinator writes it, for projection specs: each
 * input decided by the saga's decider on the state the ones before made (the
 * `n`-th at T0 + n minutes, default deadlines), as stored events, one list
 * per decision.
 */
export function sagaDecisions(
  decider: Decider<SagaCommand, SagaState, SagaEvent>,
  type: SagaType,
  orderId: string,
  inputs: readonly SagaStep<SagaInput, SagaState>[],
): GivenEvent[][] {
  const id = sagaId(type, orderId);
  let state = decider.initialState;
  return inputs.map((step, n) => {
    const input = typeof step === 'function' ? step(state) : step;
    const ctx = { sagaId: id, now: new Date(T0 + n * 60_000).toISOString(), deadlines: DEFAULT_DEADLINES, id: deterministicId };
    const events = decider.decide({ input, ctx }, state);
    state = events.reduce(decider.evolve, state);
    return events.map(({ type: eventType, ...data }) => ({ streamId: sagaStreamId(id), type: eventType, data }));
  });
}

/** Several streams' decisions interleaved as the log would hold them: one decision of each in turn. */
export function interleave(...streams: GivenEvent[][][]): GivenEvent[] {
  const events: GivenEvent[] = [];
  for (let i = 0; streams.some((s) => i < s.length); i++) for (const s of streams) events.push(...(s[i] ?? []));
  return events;
}

/** A reply to the saga's current command, naming it as its causation. */
export const reply =
  (input: Extract<SagaInput, { causationId?: string }>) =>
  (s: SagaState): SagaInput => ({ ...input, causationId: currentStep(s)?.commandId });

/** The expiry of the saga's pending deadline. */
export const expire = (s: SagaState): SagaInput => ({ type: 'DeadlineExpired', deadlineId: pendingDeadline(s)!.id });

const eur = (amount: number) => ({ amount, currency: 'EUR' });
const lines = [{ sku: 'SKU-1', quantity: 2 }];
const placed = (orderId: string) => ({ type: 'OrderPlaced' as const, orderId, customerId: 'alice', lines });
const priced = reply({ type: 'OrderLinesPriced', lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }], total: eur(1000) });

/** The orders of `fourSagas`. */
export const FOUR_ORDERS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
  '44444444-4444-4444-8444-444444444444',
] as const;
const [completed, compensating, failed, rejected] = FOUR_ORDERS;

/** For projection specs: four sagas' streams, interleaved: one completes, one compensates an expired reservation, one fails, one is rejected. */
export const fourSagas = interleave(
  sagaDecisions(placeOrderDecider, 'place-order', completed, [
    placed(completed),
    priced,
    reply({ type: 'StockReserved' }),
    reply({ type: 'PaymentAuthorized', authorizationId: 'auth-1', amount: eur(1000) }),
    reply({ type: 'OrderConfirmed' }),
    reply({ type: 'ReservationCommitted' }),
  ]),
  sagaDecisions(placeOrderDecider, 'place-order', compensating, [placed(compensating), priced, expire]),
  sagaDecisions(cancelOrderDecider, 'cancel-order', failed, [
    { type: 'CancellationRequested', orderId: failed, customerId: 'bob', reason: 'changed my mind', placeOrder: null },
    expire,
    expire,
    expire,
    expire,
  ]),
  sagaDecisions(placeOrderDecider, 'place-order', rejected, [
    placed(rejected),
    reply({ type: 'OrderLinesPricingRejected', unknownSkus: ['SKU-9'], discontinuedSkus: [], reason: 'unknown SKU-9' }),
    reply({ type: 'OrderRejected', reason: 'unknown product SKU-9' }),
  ]),
);
