import { ConfigError, env, loadConfig, type ConfigOf } from '../config/config';
import type { DatabaseConnection } from '../embedded-postgres/provision';
import type { Inbox } from '../inbox/inbox';
import type { EventStore } from './event-store';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';

/**
 * The event-store variables. A service spreads this into its config shape,
 * so a bad value stops it at start-up with the rest; `createEventStoreFromEnv`
 * reads them again and adds the checks that depend on `EVENT_STORE`.
 */
export const eventStoreConfigShape = {
  /** The adapter: `postgres` (the service's own database) or `eventstoredb` (KurrentDB ≥ 26.1). */
  EVENT_STORE: env.enum(['postgres', 'eventstoredb']).default('postgres'),
  /** Required when EVENT_STORE=eventstoredb, e.g. `kurrentdb://kurrentdb:2113?tls=false` (`esdb://` still works, with a deprecation warning from the client). */
  EVENTSTORE_URL: env.url({ protocols: ['kurrentdb:', 'kurrentdb+discover:', 'kurrent:', 'kurrent+discover:', 'kdb:', 'kdb+discover:', 'esdb:', 'esdb+discover:'] }).optional(),
  /** This service's streams on a shared server (`<service>.`); port stream ids stay unprefixed. */
  EVENTSTORE_STREAM_PREFIX: env
    .string()
    .refine((prefix) => !prefix.startsWith('$'), { error: 'must not start with $ (reserved for system streams)' })
    .default(''),
};

export type EventStoreConfig = ConfigOf<typeof eventStoreConfigShape>;

/**
 * The event store named by configuration (`EVENT_STORE=postgres|eventstoredb`),
 * which is also the service's inbox: the inbox is recorded in the same
 * atomic write as a message's effects, so it lives where the events do.
 * Checkpoints, read models and idempotency keys stay in the service's
 * Postgres (`database`) either way. An EventStoreDB store checks its server
 * in `ready()`, which the service host awaits before it starts anything.
 */
export function createEventStoreFromEnv(source: NodeJS.ProcessEnv, database: DatabaseConnection, options: { poolSize?: number } = {}): EventStore & Inbox {
  const c = loadConfig(eventStoreConfigShape, source);
  if (c.EVENT_STORE === 'eventstoredb') {
    if (!c.EVENTSTORE_URL) throw new ConfigError([{ variable: 'EVENTSTORE_URL', message: 'required when EVENT_STORE=eventstoredb' }]);
    return EventStoreDbEventStore.create({ url: c.EVENTSTORE_URL, streamPrefix: c.EVENTSTORE_STREAM_PREFIX });
  }
  return new PostgresEventStore({ connection: database, ...(options.poolSize ? { poolSize: options.poolSize } : {}) });
}
