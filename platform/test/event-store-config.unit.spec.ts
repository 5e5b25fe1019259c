import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/config';
import { createEventStoreFromEnv, eventStoreConfigShape } from '../src/event-store/create-event-store';
import { EventStoreDbEventStore } from '../src/event-store/eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store';
import { configError } from '../src/testing/config-error';
import { skipEventStoreTests } from '../src/testing/eventstore-env';

const DB = { host: '127.0.0.1', port: 1, user: 'u', password: 'p', database: 'd' };

describe('choosing the event store by configuration', () => {
  it('is the Postgres store by default, and EventStoreDB with EVENT_STORE=eventstoredb and a URL', async () => {
    const pg = createEventStoreFromEnv({}, DB);
    expect(pg).toBeInstanceOf(PostgresEventStore);
    expect(pg.guarantees.eventIdsUniqueAcrossStreams).toBe(true);
    await pg.close();
    // Created without connecting: the server is only reached by ready() and the first operation.
    const esdb = createEventStoreFromEnv({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'kurrentdb://127.0.0.1:1?tls=false', EVENTSTORE_STREAM_PREFIX: 'order-service.' }, DB);
    expect(esdb).toBeInstanceOf(EventStoreDbEventStore);
    expect(esdb.guarantees.eventIdsUniqueAcrossStreams).toBe(false);
    await esdb.close();
  });

  it('refuses EventStoreDB without a URL, a URL of another scheme, an unknown adapter and a prefix starting with $', () => {
    expect(configError(() => createEventStoreFromEnv({ EVENT_STORE: 'eventstoredb' }, DB)).problems).toEqual([
      { variable: 'EVENTSTORE_URL', message: 'required when EVENT_STORE=eventstoredb' },
    ]);
    expect(configError(() => createEventStoreFromEnv({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'http://127.0.0.1:2113' }, DB)).problems[0]!.variable).toBe('EVENTSTORE_URL');
    expect(configError(() => loadConfig(eventStoreConfigShape, { EVENT_STORE: 'mongodb' })).problems[0]!.variable).toBe('EVENT_STORE');
    expect(configError(() => createEventStoreFromEnv({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'kurrentdb://127.0.0.1:1', EVENTSTORE_STREAM_PREFIX: '$ce-' }, DB)).problems).toEqual([
      { variable: 'EVENTSTORE_STREAM_PREFIX', message: 'must not start with $ (reserved for system streams)' },
    ]);
  });
});

describe('the EventStoreDB test gate', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('skips with the reason printed without a server, runs with one, and fails under CI_EVENTSTORE=required', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.stubEnv('EVENTSTORE_URL', '');
    vi.stubEnv('CI_EVENTSTORE', '');
    expect(skipEventStoreTests('suite')).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^suite SKIPPED: EVENTSTORE_URL is not set/));
    vi.stubEnv('CI_EVENTSTORE', 'required');
    expect(() => skipEventStoreTests('suite')).toThrow(/must run here \(CI_EVENTSTORE=required\)/);
    vi.stubEnv('EVENTSTORE_URL', 'kurrentdb://127.0.0.1:2113?tls=false');
    expect(skipEventStoreTests('suite')).toBe(false);
    warn.mockRestore();
  });
});
