import { describe, expect, it } from 'vitest';
import { streamPrefixProblems } from '../deploy-check/service-requirements';

/**
 * The stream-prefix rule the compose checks and the manifest rules share:
 * services on one EventStoreDB server are kept apart by their prefixes only.
 */
const SERVER = 'kurrentdb://kurrentdb:2113';
const onStore = (name: string, prefix: string | undefined, url = `${SERVER}?tls=false`) => ({
  name,
  environment: { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url, ...(prefix === undefined ? {} : { EVENTSTORE_STREAM_PREFIX: prefix }) },
});

describe('streamPrefixProblems', () => {
  it('passes services with prefixes of their own on one server', () => {
    expect(streamPrefixProblems([onStore('catalog-service', 'catalog-service.'), onStore('order-service', 'order-service.')])).toEqual([]);
  });

  it('fails a prefix that begins another service’s, naming the one that would read the other’s streams', () => {
    expect(streamPrefixProblems([onStore('catalog', 'catalog.'), onStore('catalog-admin', 'catalog.admin.')])).toEqual([
      "catalog: EVENTSTORE_STREAM_PREFIX catalog. begins catalog-admin's (catalog.admin.) on the same EventStoreDB server: it would read catalog-admin's streams as its own",
    ]);
  });

  it('fails a service without a prefix on a shared server', () => {
    expect(streamPrefixProblems([onStore('catalog-service', undefined), onStore('order-service', 'order-service.')])).toEqual([
      `catalog-service: no EVENTSTORE_STREAM_PREFIX, on the EventStoreDB server ${SERVER} it shares with order-service`,
    ]);
  });

  it('counts the server, not the connection options: the same host with other keep-alives is the same server', () => {
    expect(streamPrefixProblems([onStore('a', 'shop.'), onStore('b', 'shop.', `${SERVER}?tls=false&keepAliveInterval=10000`)])).toHaveLength(2);
  });

  it('lets services on servers of their own, or on the Postgres event store, use any prefix', () => {
    expect(streamPrefixProblems([onStore('a', ''), onStore('b', '', 'kurrentdb://other:2113?tls=false')])).toEqual([]);
    expect(streamPrefixProblems([onStore('a', 'shop.'), { name: 'b', environment: { EVENT_STORE: 'postgres', EVENTSTORE_URL: SERVER, EVENTSTORE_STREAM_PREFIX: 'shop.' } }])).toEqual([]);
  });
});
