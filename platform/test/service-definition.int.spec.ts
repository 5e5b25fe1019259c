import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../src/bus/bus';
import { migrateBus, PostgresBus } from '../src/bus/postgres/postgres-bus';
import { env } from '../src/config/config';
import { token } from '../src/di/container';
import type { RecordedEvent } from '../src/event-store/event-store';
import { defineRoute } from '../src/http/routes';
import { INTERNAL, outboundMessages, send, type ToMessages } from '../src/messaging/outbound';
import { createKnex } from '../src/persistence/migrations';
import type { HostedService } from '../src/service/service-host';
import { UndeclaredTopicError, defineService, serviceConfig, startService, toDeclaredTopics } from '../src/service/service-definition';
import { createTestDatabase } from '../src/testing';
import { waitFor } from '../src/testing/event-store-conformance';
import { Increment, TEST_TOPIC, counter, counterHandlers, counterKit, type CounterEvent } from './fixtures/counter-contract';
import { databaseUrl } from '../src/config/config';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

/** What the counter service publishes: a `test.noticed` on its own topic per increment. */
const EVENTS_TOPIC = 'test.events';
const { Noticed } = counterKit(EVENTS_TOPIC);
const GREETER = token<{ greeting(): string }>('test.Greeter');

/** A whole service declared as data: config, a part built from it, a consumer, an outbox, a route. */
const counterService = defineService({
  description: 'A counter per key, for the service definition test.',
  config: serviceConfig('counter-service', { GREETING: env.string().default('hello') }),
  migrations: { set: 'counter', migrations: {} },
  provides: (provide) => [provide(GREETER, (_get, config) => ({ greeting: () => config.GREETING }))],
  consumes: { counter: { group: 'counter-service', handlers: () => counterHandlers() } },
  publishes: {
    source: 'counter-service',
    toMessages: outboundMessages<CounterEvent>('counter-service', { Incremented: (_e, r) => send(Noticed, { key: r.streamId.slice('counter-'.length) }) }, counter.codec),
    topics: [EVENTS_TOPIC],
  },
  routes: (get) => [
    defineRoute({
      method: 'GET',
      path: '/greeting',
      summary: 'The configured greeting',
      auth: 'public',
      responses: { 200: z.object({ greeting: z.string() }) },
      handler: () => ({ status: 200, body: { greeting: get(GREETER).greeting() } }),
    }),
  ],
});

describe('a service definition run by the host (startService)', () => {
  let serviceDb: TestDb;
  let busDb: TestDb;
  let busKnex: Knex;
  let bus: PostgresBus;
  let service: HostedService;

  beforeAll(async () => {
    [serviceDb, busDb] = await Promise.all([createTestDatabase('definition_svc'), createTestDatabase('definition_bus')]);
    busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    bus = new PostgresBus({ connection: busDb, heartbeatMs: 200 });
    service = await startService(counterService, {
      SHOP_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      DATABASE_URL: databaseUrl(serviceDb),
      BUS: 'postgres',
      BUS_DATABASE_URL: databaseUrl(busDb),
      BUS_HEARTBEAT_MS: '200',
      TOPIC_PARTITIONS: '3',
    });
  });
  afterAll(async () => {
    await service?.stop();
    await bus?.close();
    await busKnex?.destroy();
    await Promise.all([serviceDb?.drop(), busDb?.drop()]);
  });

  it('builds its parts from its configuration and serves its routes', async () => {
    const res = await fetch(`${service.url}/v1/greeting`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: 'hello' });
  });

  it('creates its own topics only — what it publishes to, what its consumers read and their dead-letter topics — with the configured partitions', async () => {
    const rows = (await busKnex('bus_partitions').select('topic').count({ n: '*' }).groupBy('topic').orderBy('topic')) as { topic: string; n: string }[];
    expect(rows.map((r) => ({ topic: r.topic, n: Number(r.n) }))).toEqual([
      { topic: 'counter-service.dead-letter', n: 3 },
      { topic: TEST_TOPIC, n: 3 },
      { topic: EVENTS_TOPIC, n: 3 },
    ]);
  });

  it('runs its consumer on the message path and relays what it decided to its declared topic', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const seen: string[] = [];
    const listener = bus.consumer({
      groupId: `listener-${randomUUID()}`,
      topics: [EVENTS_TOPIC],
      startFrom: 'earliest',
      handler: async (m) => void seen.push(m.key),
    });
    await listener.start();
    try {
      await bus.publish([Increment.build({ key, by: 2 }, { id: randomUUID(), source: 'test', correlationId: randomUUID() })]);
      await waitFor(() => seen.includes(key), 10_000);
    } finally {
      await listener.stop();
    }
  });

  it('is ready once its database, bus and consumer are, and says only that', async () => {
    const res = await fetch(`${service.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });
});

describe('the declared topics of an outbox', () => {
  const recorded = { id: randomUUID(), streamId: 'counter-a', type: 'Incremented', data: { by: 1 }, metadata: {}, recordedAt: new Date() } as unknown as RecordedEvent;
  const to = (topic: string): ToMessages => () => [{ topic, key: 'a', value: '{}', headers: {} } as OutgoingMessage];

  it('passes a message to a declared topic, and refuses one to any other, naming it', () => {
    expect(toDeclaredTopics('s', to(EVENTS_TOPIC), [EVENTS_TOPIC])(recorded)).toHaveLength(1);
    expect(() => toDeclaredTopics('s', to('test.elsewhere'), [EVENTS_TOPIC])(recorded)).toThrow(UndeclaredTopicError);
    expect(() => toDeclaredTopics('s', to('test.elsewhere'), [EVENTS_TOPIC])(recorded)).toThrow(/test\.elsewhere.*does not publish to \(test\.events\)/);
  });

  it('keeps the relayed types of the mapping, so the relay still reads only those', () => {
    const mapping = outboundMessages<CounterEvent>('s', { Incremented: INTERNAL }, counter.codec);
    expect(toDeclaredTopics('s', mapping, [EVENTS_TOPIC]).relayedTypes).toEqual(mapping.relayedTypes);
  });
});
