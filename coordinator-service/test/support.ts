import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { buildMessage, contracts, decodeContract, type MessageData, type MessageDefinition } from '@shop/contracts';
import { PostgresBus, PostgresEventStore, createKnex, migrateBus, signToken, type Consumer, type Envelope, type Role } from '@shop/platform';
import { createTestDatabase, waitFor } from '@shop/platform/testing';
import type { HostedService as RunningService } from '@shop/platform';
import { startService } from '../src/main';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

export const AUTH = {
  secret: 'coordinator-service-test-secret-longer-than-32-bytes',
  issuer: 'urn:shop:auth',
  audience: 'urn:shop:api',
};

const urlOf = (d: TestDb) => `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

/**
 * Two coordinator instances started in-process (`startService(env)`) on one
 * coordinator database and one bus database, plus what the tests play the
 * participants with: a consumer of every `*.commands` topic and a publisher
 * of replies.
 */
export class CoordinatorFixture {
  instances: RunningService[] = [];
  readonly commands: Envelope[] = [];
  /** Facts the coordinator published (`saga.ended`). */
  readonly facts: Envelope[] = [];
  private listener: Consumer | undefined;

  private constructor(
    private readonly env: Record<string, string>,
    readonly db: Knex,
    readonly store: PostgresEventStore,
    readonly bus: PostgresBus,
    private readonly databases: TestDb[],
  ) {}

  static async start(label: string, env: Record<string, string> = {}, instances = 2): Promise<CoordinatorFixture> {
    const [serviceDb, busDb] = await Promise.all([createTestDatabase(label), createTestDatabase(`${label}_bus`)]);
    const busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    await busKnex.destroy();
    const fullEnv = {
      SHOP_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: urlOf(serviceDb),
      BUS: 'postgres',
      BUS_DATABASE_URL: urlOf(busDb),
      BUS_HEARTBEAT_MS: '200',
      AUTH_JWT_SECRET: AUTH.secret,
      DEADLINE_POLL_MS: '100',
      ...env,
    };
    const fixture = new CoordinatorFixture(
      fullEnv,
      createKnex(serviceDb),
      new PostgresEventStore({ connection: serviceDb }),
      new PostgresBus({ connection: busDb, heartbeatMs: 200 }),
      [serviceDb, busDb],
    );
    for (let i = 0; i < instances; i++) await fixture.startInstance();
    await fixture.listen();
    return fixture;
  }

  async startInstance(): Promise<RunningService> {
    const instance = await startService(this.env);
    this.instances.push(instance);
    return instance;
  }

  async stopInstances(): Promise<void> {
    const running = this.instances;
    this.instances = [];
    await Promise.all(running.map((i) => i.stop()));
  }

  private async listen(): Promise<void> {
    this.listener = this.bus.consumer({
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

  async stop(): Promise<void> {
    await this.listener?.stop();
    await this.stopInstances();
    await this.bus.close();
    await this.store.close();
    await this.db.destroy();
    await Promise.all(this.databases.map((d) => d.drop()));
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
    await this.bus.publish([message]);
    return id;
  }

  token(sub: string, role: Role): Promise<string> {
    return signToken({ sub, roles: [role] }, AUTH);
  }

  async request(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.instances[0]!.url + path, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  async sagaEvents(sagaId: string) {
    return this.store.readStream(`saga-${sagaId}`);
  }

  async waitStatus(sagaId: string, status: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => {
      const events = await this.sagaEvents(sagaId);
      const last = [...events].reverse().find((e) => e.type === 'SagaEnded' || e.type === 'SagaFailed' || e.type === 'StepEntered');
      if (!last) return false;
      const data = last.data as { status?: string; phase?: string };
      const current = last.type === 'SagaFailed' ? 'failed' : last.type === 'SagaEnded' ? data.status : data.phase === 'forward' ? 'running' : 'compensating';
      return current === status;
    }, timeoutMs);
  }
}
