import type { Knex } from 'knex';
import { signToken, type Role } from '../auth/jwt';
import { migrateBus, PostgresBus } from '../bus/postgres/postgres-bus';
import { DEV_AUTH_JWT_SECRET, databaseUrl, type ConfigShape } from '../config/config';
import { createEventStoreFromEnv } from '../event-store/create-event-store';
import type { EventStore } from '../event-store/event-store';
import type { Inbox } from '../inbox/inbox';
import { createKnex } from '../persistence/migrations';
import { startService, type ServiceDefinition } from '../service/service-definition';
import type { HostedService } from '../service/service-host';
import { createTestDatabase } from './databases';


/** The auth settings the harness starts services with, for signing test tokens. */
export const TEST_AUTH = { secret: DEV_AUTH_JWT_SECRET, issuer: 'urn:shop:auth', audience: 'urn:shop:api' };

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

export interface ServiceUnderTest {
  /** The first instance (see `startInstance`). */
  service: HostedService;
  instances: HostedService[];
  url: string;
  /** The environment the instances were started with. */
  env: Record<string, string>;
  /** The service's own database, its event store, and the bus, as the test sees them. */
  db: Knex;
  store: EventStore & Inbox;
  bus: PostgresBus;
  busDb: Knex;
  /** Another instance of the service on the same databases (a second process, in effect). */
  startInstance(): Promise<HostedService>;
  stopInstances(): Promise<void>;
  token(role: Role, sub?: string): Promise<string>;
  /** An HTTP call to the first instance (`/v1/...`), with a bearer token and a JSON body when given. */
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  /** Stops every instance and the test's clients, and drops the databases. */
  stop(): Promise<void>;
}

/**
 * A defined service started in-process as the local stack starts it, on a
 * fresh database of its own and a fresh Postgres bus database, with what a
 * test observes it through: its database, event store, the bus, tokens and
 * HTTP. `env` adds to or overrides the test environment (short heartbeats,
 * silent logs, port 0).
 */
export async function startServiceForTest<S extends ConfigShape>(
  definition: ServiceDefinition<S>,
  options: { label: string; env?: Record<string, string>; instances?: number },
): Promise<ServiceUnderTest> {
  const [serviceDb, busDbConn] = await Promise.all([createTestDatabase(`${options.label}_svc`), createTestDatabase(`${options.label}_bus`)]);
  const busDb = createKnex(busDbConn);
  await migrateBus(busDb);
  const env: Record<string, string> = {
    SHOP_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl(serviceDb),
    BUS: 'postgres',
    BUS_DATABASE_URL: databaseUrl(busDbConn),
    BUS_HEARTBEAT_MS: '200',
    BUS_SESSION_TIMEOUT_MS: '2000',
    AUTH_JWT_SECRET: TEST_AUTH.secret,
    ...options.env,
  };
  const instances: HostedService[] = [];
  const startInstance = async () => {
    const instance = await startService(definition, env);
    instances.push(instance);
    return instance;
  };
  const db = createKnex(serviceDb);
  // The store the service was configured with (EVENT_STORE=eventstoredb reaches it through `options.env` or the process's environment).
  const store = createEventStoreFromEnv(env, serviceDb);
  const bus = new PostgresBus({ connection: busDbConn, heartbeatMs: 200, sessionTimeoutMs: 2_000 });
  const stopInstances = async () => {
    const running = instances.splice(0);
    await Promise.all(running.map((i) => i.stop()));
  };
  try {
    for (let i = 0; i < (options.instances ?? 1); i++) await startInstance();
  } catch (err) {
    await stopInstances();
    await Promise.allSettled([bus.close(), store.close(), db.destroy(), busDb.destroy()]);
    await Promise.allSettled([serviceDb.drop(), busDbConn.drop()]);
    throw err;
  }
  const harness: ServiceUnderTest = {
    get service() {
      return instances[0]!;
    },
    get url() {
      return instances[0]!.url;
    },
    instances,
    env,
    db,
    store,
    bus,
    busDb,
    startInstance,
    stopInstances,
    token: (role, sub = `${role}-1`) => signToken({ sub, roles: [role] }, TEST_AUTH),
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(instances[0]!.url + path, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async stop() {
      await stopInstances();
      await bus.close();
      await store.close();
      await Promise.all([db.destroy(), busDb.destroy()]);
      await Promise.all([serviceDb.drop(), busDbConn.drop()]);
    },
  };
  return harness;
}
