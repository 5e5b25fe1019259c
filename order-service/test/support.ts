import { randomUUID } from 'node:crypto';
import { buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import { MessageProcessor, decodeEnvelope, systemClock, type Envelope, type PublishedMessage, type Role } from '@shop/platform';
import { startServiceForTest, waitFor, type ServiceUnderTest, type TestResponse } from '@shop/platform/testing';
import { orderService } from '../src/composition';
import { ORDER_COMMANDS_CONSUMER, orderCommandHandlers } from '../src/integration/inbound/order-commands';
import { orderStreamId } from '../src/orders/order';
import { Orders } from '../src/orders/orders';
import { SandboxPaymentProvider } from '../src/payments/sandbox-payment-provider';

/**
 * The order service started by the kit (`startServiceForTest`: in-process,
 * fresh service and bus databases, test env, tokens signed with `TEST_AUTH`),
 * with a short payment timeout, and the order-specific helpers the tests use
 * on top: place an order, publish a coordinator command, wait for the
 * consumer, the relay and the read model.
 */
export class TestOrderService {
  private constructor(readonly harness: ServiceUnderTest) {}

  static async start(label: string, env: Record<string, string> = {}): Promise<TestOrderService> {
    return new TestOrderService(await startServiceForTest(orderService, { label, env: { PAYMENT_TIMEOUT: '200ms', ...env } }));
  }

  get db() {
    return this.harness.db;
  }
  get store() {
    return this.harness.store;
  }
  get bus() {
    return this.harness.bus;
  }
  get busDb() {
    return this.harness.busDb;
  }

  stop(): Promise<void> {
    return this.harness.stop();
  }

  /** A token for `sub` with `role`, signed as the service under test expects. */
  token(sub: string, role: Role): Promise<string> {
    return this.harness.token(role, sub);
  }

  request(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<TestResponse> {
    return this.harness.request(method, path, options);
  }

  /** POST /v1/orders with a fresh Idempotency-Key; returns the response. */
  placeOrder(token: string, body: unknown = validOrder(), key: string = randomUUID()): Promise<TestResponse> {
    return this.request('POST', '/v1/orders', { token, body, headers: { 'idempotency-key': key } });
  }

  /** Publishes a coordinator command on `order.commands`, as the coordinator would. */
  async sendCommand<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID()): Promise<PublishedMessage> {
    const message = buildMessage(definition, data, { id, source: 'coordinator-service', correlationId: `saga-${String((data as { orderId: string }).orderId)}` });
    const [published] = await this.bus.publish([message]);
    return published!;
  }

  /** Waits until the order service's consumer group has moved past a published command. */
  async waitHandled(published: PublishedMessage): Promise<void> {
    await waitFor(async () => {
      const row = (await this.busDb('bus_group_offsets')
        .where({ group_id: 'order-service', topic: published.topic, partition: published.partition })
        .first('committed')) as { committed: string } | undefined;
      return row !== undefined && Number(row.committed) > published.offset;
    }, 20_000);
  }

  /** The messages the service published on `order.events` about one order, in publish order. */
  async eventsPublishedFor(orderId: string): Promise<Envelope[]> {
    const rows = (await this.busDb('bus_messages')
      .where({ topic: 'order.events', key: orderId })
      .orderBy([{ column: 'partition' }, { column: 'offset' }])
      .select('value', 'headers')) as { value: string; headers: Record<string, string> }[];
    return rows.map((r) => decodeEnvelope(r));
  }

  async waitForPublished(orderId: string, type: string): Promise<Envelope> {
    let found: Envelope | undefined;
    await waitFor(async () => {
      found = (await this.eventsPublishedFor(orderId)).find((e) => e.type === type);
      return found !== undefined;
    }, 20_000);
    return found!;
  }

  streamOf(orderId: string) {
    return this.store.readStream(orderStreamId(orderId));
  }

  /** Waits until the relay has considered every event stored so far. */
  async relayCaughtUp(): Promise<void> {
    const head = await this.store.headPosition();
    await waitFor(async () => {
      const row = (await this.db('outbox_checkpoints').where({ relay: 'order-service' }).first('position')) as { position: string };
      return Number(row.position) >= head;
    }, 20_000);
  }

  /** Waits until the orders read model reflects every event stored so far. */
  async readModelCaughtUp(): Promise<void> {
    const head = await this.store.headPosition();
    await waitFor(async () => {
      const row = (await this.db('projection_checkpoints').where({ projection: 'orders', slot: 'live' }).first('position')) as
        | { position: string }
        | undefined;
      return row !== undefined && Number(row.position) >= head;
    }, 20_000);
  }
}

/**
 * What one process of the service runs for `order.commands`, on the
 * service's databases: the real orders and sandbox payment provider under
 * the platform's message path, so a test can hand it messages directly.
 */
export function orderProcess(svc: TestOrderService) {
  const payments = new SandboxPaymentProvider();
  const orders = new Orders({ store: svc.store, db: svc.db, clock: systemClock, payments, paymentTimeoutMs: 200 });
  const processor = new MessageProcessor({ consumer: ORDER_COMMANDS_CONSUMER, handlers: orderCommandHandlers(orders), store: svc.store, inbox: svc.store });
  return { payments, processor };
}

export { commandMessage } from '@shop/contracts/testing';

export function validOrder(paymentToken = 'tok_approve') {
  return {
    lines: [
      { sku: 'SKU-1', quantity: 2 },
      { sku: 'SKU-2', quantity: 1 },
    ],
    paymentToken,
  };
}

export const eur = (amount: number) => ({ amount, currency: 'EUR' });

export const pricedLines = [
  { sku: 'SKU-1', quantity: 2, unitPrice: eur(1000), lineTotal: eur(2000) },
  { sku: 'SKU-2', quantity: 1, unitPrice: eur(500), lineTotal: eur(500) },
];
export const orderTotal = eur(2500);

export const customer = (name: string) => `${name}-${randomUUID()}`;
