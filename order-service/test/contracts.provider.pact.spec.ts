import { OrderPlaced } from '@shop/contracts';
import { messageOfType, publishedFor, verifyProviderPacts } from '@shop/platform/testing/pacts';
import { expectProducedMessages } from '@shop/contracts/testing';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { orderEventToMessagesFor } from '../src/integration/outbound/to-messages';
import { authorizationToVoid, orderDecider, paymentToAuthorize, type OrderCommand } from '../src/orders/decide';
import { orderStreamId, type Order, type OrderEvent } from '../src/orders/order';
import { authorizationKey } from '../src/payments/payment-provider';
import { SandboxPaymentProvider } from '../src/payments/sandbox-payment-provider';

const PROVIDER = 'order-service';
const now = '2030-01-01T00:00:00.000Z';
const orderId = '44444444-4444-4444-8444-444444444444';
const customerId = 'alice';
const eur = (amount: number) => ({ amount, currency: 'EUR' });
const lines = [{ sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) }];
const total = eur(2000);
const payments = new SandboxPaymentProvider();

/** A command, or one made from the order's state so far (as `Orders` makes it, asking the payment provider when needed). */
type Step = OrderCommand | ((state: Order) => OrderCommand | Promise<OrderCommand>);

/** The events the real order decider decides for these steps, each on the state the ones before left. */
async function decided(steps: readonly Step[]): Promise<OrderEvent[]> {
  let state = orderDecider.initialState;
  const events: OrderEvent[] = [];
  for (const step of steps) {
    const command = typeof step === 'function' ? await step(state) : step;
    const decision = orderDecider.decide(command, state);
    state = decision.reduce(orderDecider.evolve, state);
    events.push(...decision);
  }
  return events;
}

const placed = (paymentToken: string): Step => ({ type: 'PlaceOrder', orderId, customerId, lines: [{ sku: 'SKU-1', quantity: 2 }], paymentToken, channel: 'web', now });
const authorized: Step = async (state) => {
  const token = paymentToAuthorize(state);
  const answer = token === undefined ? undefined : await payments.authorize(token, total, authorizationKey(orderId));
  return { type: 'AuthorizePayment', orderId, amount: total, ...(answer ? { answer } : {}), now };
};
const voided: Step = (state) => {
  const authorizationId = authorizationToVoid(state);
  return { type: 'VoidPayment', orderId, ...(authorizationId !== undefined ? { voidedAuthorizationId: authorizationId } : {}), now };
};
const confirmed: Step = { type: 'ConfirmOrder', orderId, lines, total, now };
const rejected: Step = { type: 'RejectOrder', orderId, reason: 'the payment was declined', now };
const cancellationRequested: Step = { type: 'RequestCancellation', orderId, requestedBy: { subject: customerId, admin: false }, reason: 'changed my mind', now };
const cancelled: Step = { type: 'CancelOrder', orderId, reason: 'changed my mind', now };

const approvedOrder = [placed('tok_approve'), authorized];
const declinedOrder = [placed('tok_decline'), authorized];
const cancellingOrder = [...approvedOrder, confirmed, cancellationRequested];

/** The relay's mapping as configured by default, and as configured with ORDER_PLACED_VERSION=1 (a rolling deploy). */
const current = orderEventToMessagesFor({ orderPlacedVersion: OrderPlaced.version });
const placedV1 = orderEventToMessagesFor({ orderPlacedVersion: 1 });

/** The message of `type` the relay would publish for the order after `steps`. */
const orderMessage = async (type: string, steps: readonly Step[], toMessages = current) =>
  messageOfType(publishedFor(toMessages, orderStreamId(orderId), await decided(steps)), type);

const STATES = [
  'a customer placed an order',
  'an order was confirmed',
  'an order was rejected',
  'a customer asked to cancel an order',
  'an order was cancelled',
  "an order's payment was authorized",
  "an order's payment was declined",
  "an order's payment was voided",
];

/** Each message the order service publishes, from its real decider and outbound mapping; the state names the message, so the builders ignore it. */
const messages = {
  'order.placed v2': () => orderMessage('order.placed', [placed('tok_approve')]),
  'order.placed v1': () => orderMessage('order.placed', [placed('tok_approve')], placedV1),
  'order.confirmed v1': () => orderMessage('order.confirmed', [...approvedOrder, confirmed]),
  'order.rejected v1': () => orderMessage('order.rejected', [...declinedOrder, rejected]),
  'order.cancellation-requested v1': () => orderMessage('order.cancellation-requested', cancellingOrder),
  'order.cancelled v1': () => orderMessage('order.cancelled', [...cancellingOrder, voided, cancelled]),
  'order.payment-authorized v1': () => orderMessage('order.payment-authorized', approvedOrder),
  'order.payment-declined v1': () => orderMessage('order.payment-declined', declinedOrder),
  'order.payment-voided v1': () => orderMessage('order.payment-voided', [...cancellingOrder, voided]),
};

describe('order-service as a provider (Pact)', () => {
  it('builds every version of every message the catalogue says it produces, each valid under its contract', () => expectProducedMessages(PROVIDER, messages));

  it('publishes every message its consumers expect, from its real decider and outbound mapping', async () => {
    const records = await verifyProviderPacts({ provider: PROVIDER, version: pkg.version, states: STATES, messages });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.verified)).toBe(true);
  });
});
