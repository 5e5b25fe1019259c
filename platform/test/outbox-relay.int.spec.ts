import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBus, migrateBus } from '../src/bus/postgres/postgres-bus';
import { eventStoreMigrations } from '../src/event-store/postgres/event-store-migrations';
import { createEventStoreFromEnv } from '../src/event-store/create-event-store';
import type { EventStore } from '../src/event-store/event-store';
import { inboxHandler, inboxMigrations } from '../src/inbox/inbox';
import { OutboxRelay, outboxMigrations } from '../src/outbox/outbox-relay';
import { createKnex, runMigrations } from '../src/persistence/migrations';
import { createTestDatabase, waitFor } from '../src/testing';
import { relayedMessage } from './fixtures/relayed-message';
import { databaseUrl } from '../src/config/config';

type Db = Awaited<ReturnType<typeof createTestDatabase>>;
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const TOPIC = 'orders.changed';
const RELAY = 'order-service';
// The store under test comes from the same variables as a service's (EVENT_STORE=eventstoredb runs this file on EventStoreDB),
// with a prefix of this run's own so that a shared server's other streams are not in its log.
const STORE_ENV = { ...process.env, EVENTSTORE_STREAM_PREFIX: `relay${randomBytes(4).toString('hex')}.` };

describe('outbox relay', () => {
  let serviceDb: Db;
  let busDb: Db;
  let consumerDb: Db;
  let service: Knex;
  let consumerKnex: Knex;
  let busKnex: Knex;
  let store: EventStore;
  let bus: PostgresBus;

  beforeAll(async () => {
    [serviceDb, busDb, consumerDb] = await Promise.all([
      createTestDatabase('relay_service'),
      createTestDatabase('relay_bus'),
      createTestDatabase('relay_consumer'),
    ]);
    service = createKnex(serviceDb);
    await runMigrations(service, 'event_store', eventStoreMigrations);
    await runMigrations(service, 'outbox', outboxMigrations);
    busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    consumerKnex = createKnex(consumerDb);
    await runMigrations(consumerKnex, 'inbox', inboxMigrations);
    await consumerKnex.raw('create table effects (applied_order serial primary key, message_id text unique, key text, seq int)');
    store = createEventStoreFromEnv(STORE_ENV, serviceDb);
    await store.ready?.();
    bus = new PostgresBus({ connection: busDb, heartbeatMs: 200, sessionTimeoutMs: 1_500 });
    await bus.createTopics([{ name: TOPIC, partitions: 4 }]);
  });
  afterAll(async () => {
    await bus.close();
    await store.close();
    await Promise.all([service.destroy(), busKnex.destroy(), consumerKnex.destroy()]);
    await Promise.all([serviceDb.drop(), busDb.drop(), consumerDb.drop()]);
  });

  const appendOrders = async (streams: number, perStream: number, from = 0) => {
    for (let seq = from; seq < from + perStream; seq++) {
      await Promise.all(
        Array.from({ length: streams }, (_, s) => store.append(`order-${s}`, [{ type: 'OrderChanged', data: { seq } }])),
      );
    }
  };
  /** Events in the log at or before `upTo` (positions need not be dense: EventStoreDB's are log offsets). */
  const eventsUpTo = async (upTo = Number.MAX_SAFE_INTEGER) => {
    let count = 0;
    for (let from = 0; ; ) {
      const page = await store.readAll({ fromPosition: from, maxCount: 1_000, withMetadata: false });
      count += page.events.filter((e) => e.position <= upTo).length;
      if (page.events.length < 1_000 || page.scannedTo >= upTo) return count;
      from = page.scannedTo;
    }
  };
  const busCount = async () => Number(((await busKnex('bus_messages').where({ topic: TOPIC }).count({ n: '*' })) as { n: string }[])[0]!.n);

  it('survives a relay killed mid-batch and two relays at once: nothing lost, nothing reordered per key, duplicates absorbed', async () => {
    await appendOrders(15, 60);

    // 1. A relay process, killed while a published page is not yet checkpointed.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'platform/test/fixtures/outbox-relay-process.ts')], {
      cwd: repoRoot,
      env: {
        ...STORE_ENV,
        BUS: 'postgres',
        BUS_DATABASE_URL: databaseUrl(busDb),
        SERVICE_DATABASE_URL: databaseUrl(serviceDb),
        RELAY_NAME: RELAY,
        TOPIC,
        PUBLISH_PAUSE_MS: '150',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    await waitFor(async () => (await busCount()) >= 300, 30_000);
    child.kill('SIGKILL');
    await exited;
    const checkpointAtKill = Number(((await service('outbox_checkpoints').where({ relay: RELAY }).first('position')) as { position: string }).position);
    const publishedAtKill = await busCount();
    // The kill left published messages whose page was never checkpointed.
    expect(publishedAtKill).toBeGreaterThan(await eventsUpTo(checkpointAtKill));

    // 2. Two relays at once: one leads, the other stands by.
    const relays = [0, 1].map(
      () =>
        new OutboxRelay({
          name: RELAY,
          store,
          db: service,
          lockConnection: serviceDb,
          bus,
          batchSize: 50,
          retryMs: 100,
          toMessages: (e) => [relayedMessage(e, TOPIC)],
        }),
    );
    await Promise.all(relays.map((r) => r.start()));
    let bothLed = 0;
    const watch = setInterval(() => {
      if (relays[0]!.isLeader && relays[1]!.isLeader) bothLed++;
    }, 5);
    await appendOrders(15, 20, 60);
    await waitFor(async () => (await relays[0]!.status()).lag === 0, 30_000);
    expect(relays.filter((r) => r.isLeader)).toHaveLength(1);

    // 3. The leader goes away; the standby takes over and relays what follows.
    const leader = relays.find((r) => r.isLeader)!;
    const standby = relays.find((r) => r !== leader)!;
    await leader.stop();
    await waitFor(() => standby.isLeader, 10_000);
    await appendOrders(15, 20, 80);
    await waitFor(async () => (await standby.status()).lag === 0, 30_000);
    clearInterval(watch);
    await standby.stop();
    expect(bothLed).toBe(0);

    // 4. A consumer with an inbox sees every event once, in order per key.
    const consumer = bus.consumer({
      groupId: 'order-readers',
      topics: [TOPIC],
      handler: inboxHandler(consumerKnex, 'order-readers', async (env, trx, message) => {
        await trx('effects').insert({ message_id: env.id, key: message.key, seq: (env.data as { seq: number }).seq });
      }),
    });
    await consumer.start();
    const events = await eventsUpTo();
    await waitFor(async () => Number(((await consumerKnex('effects').count({ n: '*' })) as { n: string }[])[0]!.n) === events, 30_000);
    await consumer.stop();

    expect(await busCount()).toBeGreaterThan(events); // duplicates were published...
    const rows = (await consumerKnex('effects').orderBy('applied_order').select('key', 'seq')) as { key: string; seq: number }[];
    expect(rows).toHaveLength(events); // ...and absorbed: one effect per event
    const byKey = new Map<string, number[]>();
    for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.seq]);
    expect(byKey.size).toBe(15);
    for (const seqs of byKey.values()) expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
