import { describe, expect, it } from 'vitest';
import { SERVICES, serviceEventStoreEnv } from '../local/stack';

/** What `npm start` adds to each service's environment for its event store. */
describe('serviceEventStoreEnv', () => {
  const URL = 'kurrentdb://127.0.0.1:2113?tls=false';

  it('adds nothing on the Postgres event store, set or by default', () => {
    expect(serviceEventStoreEnv('catalog-service', {})).toEqual({});
    expect(serviceEventStoreEnv('catalog-service', { EVENT_STORE: 'postgres', EVENTSTORE_URL: URL, EVENTSTORE_STREAM_PREFIX: 'x.' })).toEqual({});
  });

  it('gives each service on EventStoreDB the server and a prefix of its own', () => {
    const prefixes = SERVICES.map((s) => serviceEventStoreEnv(s.folder, { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: URL }));
    expect(prefixes[0]).toEqual({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: URL, EVENTSTORE_STREAM_PREFIX: 'catalog-service.' });
    expect(new Set(prefixes.map((p) => p.EVENTSTORE_STREAM_PREFIX)).size).toBe(SERVICES.length);
  });

  it('puts the service after a prefix the user set, so stacks sharing a server stay apart too', () => {
    expect(serviceEventStoreEnv('order-service', { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: URL, EVENTSTORE_STREAM_PREFIX: 'alice.' }).EVENTSTORE_STREAM_PREFIX).toBe('alice.order-service.');
  });

  it('leaves a missing EVENTSTORE_URL to the service, whose config names it', () => {
    expect(serviceEventStoreEnv('order-service', { EVENT_STORE: 'eventstoredb' })).toEqual({ EVENT_STORE: 'eventstoredb', EVENTSTORE_STREAM_PREFIX: 'order-service.' });
  });
});
