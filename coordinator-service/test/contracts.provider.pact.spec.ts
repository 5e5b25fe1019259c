import { SagaEnded } from '@shop/contracts';
import { deterministicId } from '@shop/platform';
import { verifyProviderPacts, publishedFor, messageOfType } from '@shop/platform/testing/pacts';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { sagaEventToMessages } from '../src/integration/outbound/to-messages';
import { cancelOrderDecider } from '../src/sagas/cancel-order';
import { placeOrderDecider } from '../src/sagas/place-order';
import { SAGA_COMMANDS, currentStep, placeOrderSnapshot, sagaId, sagaStreamId, type SagaEvent, type SagaInput, type SagaState, type SagaType } from '../src/sagas/saga-state';
import { DEFAULT_DEADLINES } from '../src/sagas/steps';

const PROVIDER = 'coordinator-service';
const orderId = '11111111-1111-4111-8111-111111111111';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const DECIDERS = { 'place-order': placeOrderDecider, 'cancel-order': cancelOrderDecider };
const eur = (amount: number) => ({ amount, currency: 'EUR' });

/**
 * A saga of the order after these inputs, each decided by the saga's real
 * decider on the state the ones before left, a minute apart. A reply answers
 * the command of the step the saga is at (its causation), as a participant's does.
 */
function decided(type: SagaType, inputs: readonly SagaInput[]): { state: SagaState; events: SagaEvent[] } {
  const decider = DECIDERS[type];
  let state: SagaState = decider.initialState;
  const events: SagaEvent[] = [];
  inputs.forEach((input, n) => {
    const answer = 'causationId' in input || !isReply(input) ? input : { ...input, causationId: currentStep(state)?.commandId };
    const ctx = { sagaId: sagaId(type, orderId), now: new Date(T0 + n * 60_000).toISOString(), deadlines: DEFAULT_DEADLINES, id: deterministicId };
    const more = decider.decide({ input: answer, ctx }, state);
    state = more.reduce(decider.evolve, state);
    events.push(...more);
  });
  return { state, events };
}
const isReply = (input: SagaInput) => !['OrderPlaced', 'CancellationRequested', 'PlaceOrderCompleted', 'DeadlineExpired', 'RetryRequested', 'AbortRequested'].includes(input.type);

const placed: SagaInput = { type: 'OrderPlaced', orderId, customerId: 'alice', lines: [{ sku: 'SKU-1', quantity: 2 }] };
const priced: SagaInput = { type: 'OrderLinesPriced', lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(500), lineTotal: eur(1000) }], total: eur(1000) };
const reserved: SagaInput = { type: 'StockReserved' };
const authorized: SagaInput = { type: 'PaymentAuthorized', authorizationId: 'auth-1', amount: eur(1000) };
const declined: SagaInput = { type: 'PaymentDeclined', reason: 'insufficient funds' };
const confirmed: SagaInput = { type: 'OrderConfirmed' };
const committed: SagaInput = { type: 'ReservationCommitted' };
const released: SagaInput = { type: 'StockReleased' };
const voided: SagaInput = { type: 'PaymentVoided' };
const completed = [placed, priced, reserved, authorized, confirmed, committed];
/** A cancellation of the confirmed order, as the cancel-order saga is told it (with the place-order saga as it ended). */
const cancellation: SagaInput = {
  type: 'CancellationRequested',
  orderId,
  customerId: 'alice',
  reason: 'changed my mind',
  placeOrder: placeOrderSnapshot(decided('place-order', completed).state),
};

/** Each provider state: the saga it names, by its type and the inputs it took. */
const STATES: Record<string, { type: SagaType; inputs: SagaInput[] }> = {
  'a place-order saga whose order was placed': { type: 'place-order', inputs: [placed] },
  'a place-order saga whose order is priced': { type: 'place-order', inputs: [placed, priced] },
  'a place-order saga whose stock is reserved': { type: 'place-order', inputs: [placed, priced, reserved] },
  'a place-order saga whose payment is authorized': { type: 'place-order', inputs: [placed, priced, reserved, authorized] },
  'a place-order saga whose order was confirmed': { type: 'place-order', inputs: [placed, priced, reserved, authorized, confirmed] },
  // It releases the stock, then (released) rejects the order.
  'a place-order saga compensating after a declined payment': { type: 'place-order', inputs: [placed, priced, reserved, declined, released] },
  'a place-order saga ended': { type: 'place-order', inputs: completed },
  'a cancel-order saga for a confirmed order': { type: 'cancel-order', inputs: [cancellation] },
  'a cancel-order saga whose payment and stock are undone': { type: 'cancel-order', inputs: [cancellation, voided, released] },
};

/** The last message of `type` the outbox relay would publish for the saga the state names, through the real outbound mapping. */
function lastPublished(type: string, state: string): ReturnType<typeof messageOfType> {
  const saga = STATES[state];
  if (!saga) throw new Error(`no saga for provider state ${state}`);
  const messages = publishedFor(sagaEventToMessages, sagaStreamId(sagaId(saga.type, orderId)), decided(saga.type, saga.inputs).events);
  return messageOfType(messages.filter((m) => m.headers?.ce_type === type).slice(-1), type);
}

/** Everything the coordinator publishes: the sagas' commands and `saga.ended`. */
const PUBLISHED = [...SAGA_COMMANDS, SagaEnded];

describe('coordinator-service as a provider (Pact)', () => {
  it('publishes every message its consumers expect, from its real sagas and outbound mapping', async () => {
    const records = await verifyProviderPacts({
      provider: PROVIDER,
      version: pkg.version,
      states: Object.keys(STATES),
      messages: Object.fromEntries(PUBLISHED.map((d) => [`${d.type} v${d.version}`, (state: string) => lastPublished(d.type, state)])),
    });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.verified)).toBe(true);
  });
});
