import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { buildMessage, type MessageData, type MessageDefinition } from '@shop/contracts';
import {
  PostgresBus,
  PostgresEventStore,
  createKnex,
  migrateBus,
  signToken,
  type ConsumedMessage,
  type OutgoingMessage,
  type PublishedMessage,
  type Role,
} from '@shop/platform';
import { createTestDatabase, waitFor } from '@shop/platform/testing';
import { allProjections } from '../src/read-models/all-projections';
import type { HostedService as RunningService } from '@shop/platform';
import { startService } from '../src/main';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

export const AUTH = {
  secret: 'analytics-service-test-secret-longer-than-32-bytes',
  issuer: 'urn:shop:auth',
  audience: 'urn:shop:api',
};

export const urlOf = (d: TestDb) => `postgres://${d.user}:${encodeURIComponent(d.password)}@${d.host}:${d.port}/${d.database}`;

export const eur = (amount: number) => ({ amount, currency: 'EUR' });

/** A contract message as its producer would build it. */
export function message<D extends MessageDefinition>(definition: D, data: MessageData<D>, id: string = randomUUID()): OutgoingMessage {
  return buildMessage(definition, data, { id, source: definition.producer, correlationId: `corr-${id}` });
}

/** An outgoing message as the consumer would receive it. */
export function consumed(m: OutgoingMessage, offset = 0): ConsumedMessage {
  return { ...m, partition: 0, offset, headers: m.headers ?? {}, publishedAt: new Date(), attempt: 1 };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

/** The analytics service started in-process with `startService`, on fresh databases, plus the bus and archive it reads. */
export class TestAnalyticsService {
  private constructor(
    readonly service: RunningService,
    readonly db: Knex,
    readonly store: PostgresEventStore,
    readonly bus: PostgresBus,
    readonly busDb: Knex,
    private readonly databases: TestDb[],
  ) {}

  static async start(label: string, env: Record<string, string> = {}): Promise<TestAnalyticsService> {
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
      ...env,
    });
    return new TestAnalyticsService(
      service,
      createKnex(serviceDb),
      new PostgresEventStore({ connection: serviceDb }),
      new PostgresBus({ connection: busDb, heartbeatMs: 200 }),
      busKnex,
      [serviceDb, busDb],
    );
  }

  /** The URL of the service's own database (what `DATABASE_URL` names). */
  get databaseUrl(): string {
    return urlOf(this.databases[0]!);
  }

  async stop(): Promise<void> {
    await this.service.stop();
    await this.bus.close();
    await this.store.close();
    await Promise.all([this.db.destroy(), this.busDb.destroy()]);
    await Promise.all(this.databases.map((d) => d.drop()));
  }

  token(role: Role, sub = 'tester'): Promise<string> {
    return signToken({ sub, roles: [role] }, AUTH);
  }

  async get(path: string, token?: string): Promise<ApiResponse> {
    const res = await fetch(this.service.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  async request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    const res = await fetch(this.service.url + path, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  publish(messages: OutgoingMessage[]): Promise<PublishedMessage[]> {
    return this.bus.publish(messages);
  }

  /** Waits until the archive consumer's group has moved past every published message. */
  async waitConsumed(published: PublishedMessage[]): Promise<void> {
    await waitFor(async () => {
      for (const p of published) {
        const row = (await this.busDb('bus_group_offsets')
          .where({ group_id: 'analytics-service', topic: p.topic, partition: p.partition })
          .first('committed')) as { committed: string } | undefined;
        if (!row || Number(row.committed) <= p.offset) return false;
      }
      return true;
    }, 20_000);
  }

  /** Waits until every projection reflects the archive's head. */
  async projectionsCaughtUp(): Promise<number> {
    const head = await this.store.headPosition();
    await waitFor(async () => {
      const rows = (await this.db('projection_checkpoints').where({ slot: 'live' }).select('position')) as { position: string }[];
      return rows.length === allProjections().length && rows.every((r) => Number(r.position) >= head);
    }, 20_000);
    return head;
  }
}
