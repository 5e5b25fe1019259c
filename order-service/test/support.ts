import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import {
  PostgresBus,
  PostgresEventStore,
  createKnex,
  decodeEnvelope,
  migrateBus,
  signToken,
  type Envelope,
  type PublishedMessage,
  type Role,
} from '@shop/platform';
import { createTestDatabase, waitFor } from '@shop/platform/testing';
import type { HostedService as RunningService } from '@shop/platform';
import { startService } from '../src/main';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

export const AUTH = {
  secret: 'order-service-test-secret-longer-than-32-bytes',
  issuer: 'urn:shop:auth',
  audience: 'urn:shop:api',
};

const urlOf = (d: TestDb) => `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

/**
 * The order service started in-process the way the local-stack launcher
 * starts it (`startService(env)`), on fresh databases, plus what the tests
 * observe it with: its database, its event store and the bus.
 */
export class TestOrderService {
  private constructor(
    readonly service: RunningService,
    readonly db: Knex,
    readonly store: PostgresEventStore,
    readonly bus: PostgresBus,
    readonly busDb: Knex,
    private readonly databases: TestDb[],
  ) {}

  static async start(label: string, env: Record<string, string> = {}): Promise<TestOrderService> {
    const [serviceDb, busDb] = await Promise.all([createTestDatabase(label), createTestDatabase(`${label}_bus`)]);
    const busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    const service = await startService({
      SHOP_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: urlOf(serviceDb),
      BUS: 'postgres',
      BUS_DATABASE_URL: urlOf(busDb),
      BUS_HEARTBEAT_MS: '200',
      AUTH_JWT_SECRET: AUTH.secret,
      PAYMENT_TIMEOUT: '200ms',
      ...env,
    });
    return new TestOrderService(
      service,
      createKnex(serviceDb),
      new PostgresEventStore({ connection: serviceDb }),
      new PostgresBus({ connection: busDb, heartbeatMs: 200 }),
      busKnex,
      [serviceDb, busDb],
    );
  }

  async stop(): Promise<void> {
    await this.service.stop();
    await this.bus.close();
    await this.store.close();
    await Promise.all([this.db.destroy(), this.busDb.destroy()]);
    await Promise.all(this.databases.map((d) => d.drop()));
  }

  token(sub: string, role: Role): Promise<string> {
    return signToken({ sub, roles: [role] }, AUTH);
  }

  async request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.service.url + path, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
  }

  /** POST /v1/orders with a fresh Idempotency-Key; returns the response. */
  placeOrder(token: string, body: unknown = validOrder(), key: string = randomUUID()): Promise<ApiResponse> {
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

  async streamOf(orderId: string) {
    return this.store.readStream(`order-${orderId}`);
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
