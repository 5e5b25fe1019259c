import { describe, expect, it } from 'vitest';
import { MaxAppendSizeExceededError, WrongExpectedVersionError } from '../src/event-store/eventstoredb/client';
import { InvalidAppendError, WrongExpectedRevisionError, matchesFilter, type LogFilter } from '../src/event-store/event-store';
import { fromCurrentState, mapAppendError, toStreamState } from '../src/event-store/eventstoredb/revisions';
import { CorruptEventError } from '../src/event-store/event-codec';
import { decodeEvent, encodeEvent, type ServerEvent } from '../src/event-store/eventstoredb/event-layout';
import { isAfter, toPortPosition, toReadPosition } from '../src/event-store/eventstoredb/positions';
import { StreamNames, escapeRegex, streamNameRegex, typesOnlyOnServer, typesRegex } from '../src/event-store/eventstoredb/stream-names';

/**
 * The EventStoreDB adapter's pure mappings (no server needed): positions,
 * server stream names and the filters sent to the server, each checked
 * against the port's own rules (`matchesFilter`), with the inputs each
 * mapping refuses.
 */

const IDS = [
  'order-1',
  'order',
  'orders-1',
  'order-1-line-2',
  'stock-SKU.1',
  'stock-SKU+1',
  'saga-place-order-7',
  'archive-order.placed-k1',
  'a(b)-1',
  'x y-1',
  'inbox~analytics~m1',
  '$ce-order',
  '$all',
];

const FILTERS: LogFilter[] = [
  {},
  { categories: ['order'] },
  { categories: ['order', 'stock'] },
  { categories: ['saga'] },
  { categories: ['a(b)'] },
  { categories: ['x y'] },
  { streamPrefix: 'order-1' },
  { streamPrefix: 'stock-SKU.' },
  { categories: ['order'], streamPrefix: 'order-1-' },
];

describe('EventStoreDB positions', () => {
  it('maps an event at commit == prepare to its commit offset, and back', () => {
    expect(toPortPosition({ commit: 1234n, prepare: 1234n })).toBe(1234);
    expect(toReadPosition(1234)).toEqual({ commit: 1234n, prepare: 1234n });
    expect(toReadPosition(0)).toBe('start');
  });

  it('refuses a position it cannot represent by one number, naming the event', () => {
    expect(() => toPortPosition({ commit: 200n, prepare: 150n }, 'order-1@3')).toThrow(/order-1@3 is at commit 200, prepare 150/);
    expect(() => toPortPosition({ commit: 2n ** 60n, prepare: 2n ** 60n })).toThrow(/outside the positions/);
    expect(() => toReadPosition(-1)).toThrow(RangeError);
    expect(() => toReadPosition(1.5)).toThrow(RangeError);
  });

  it('keeps reads exclusive: an event at the start position is not after it', () => {
    expect(isAfter(100, 100)).toBe(false);
    expect(isAfter(101, 100)).toBe(true);
    expect(isAfter(1, 0)).toBe(true);
  });
});

describe('EventStoreDB stream names', () => {
  it('prefixes and strips, and keeps inbox and system streams out of the port', () => {
    const names = new StreamNames('order-service.');
    expect(names.of('order-1')).toBe('order-service.order-1');
    expect(names.strip('order-service.order-1')).toBe('order-1');
    expect(names.strip('catalog-service.product-1')).toBeUndefined();
    expect(names.strip(names.inbox('coordinator', 'm-1'))).toBeUndefined();
    expect(names.inbox('coordinator', 'm-1')).toBe('order-service.inbox~coordinator~m-1');
    expect(new StreamNames().strip('$ce-order')).toBeUndefined();
    expect(() => new StreamNames('$sys')).toThrow(/reserved/);
  });

  it('escapes every character a .NET regex reads specially', () => {
    const special = 'a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o#p q-r';
    expect(new RegExp(`^${escapeRegex(special)}$`).test(special)).toBe(true);
    expect(new RegExp(`^${escapeRegex('a.b')}$`).test('axb')).toBe(false);
  });

  for (const prefix of ['', 'svc.']) {
    it(`selects on the server exactly the streams the port's filter passes (prefix "${prefix}")`, () => {
      const names = new StreamNames(prefix);
      for (const filter of FILTERS) {
        const regex = new RegExp(streamNameRegex(names, filter));
        for (const id of IDS) {
          const portSees = !id.startsWith('$') && !id.startsWith(StreamNames.INBOX) && matchesFilter(filter, { streamId: id, type: 'T' });
          expect(regex.test(names.of(id)), `${JSON.stringify(filter)} on ${id}`).toBe(portSees);
        }
        // Another service's streams on the same server never pass.
        if (prefix) expect(regex.test(`other.${IDS[0]}`)).toBe(false);
      }
    });
  }

  it('filters by types on the server only when nothing else is needed', () => {
    expect(new RegExp(typesRegex(['order.placed', 'order.confirmed'])).test('order.placed')).toBe(true);
    expect(new RegExp(typesRegex(['order.placed'])).test('order.placedX')).toBe(false);
    expect(new RegExp(typesRegex(['order.placed'])).test('orderXplaced')).toBe(false);
    expect(new RegExp(typesRegex(['order.placed'])).test('$metadata')).toBe(false);
    expect(typesOnlyOnServer(new StreamNames(), { types: ['a'] })).toBe(true);
    expect(typesOnlyOnServer(new StreamNames('svc.'), { types: ['a'] })).toBe(false);
    expect(typesOnlyOnServer(new StreamNames(), { types: ['a'], categories: ['order'] })).toBe(false);
    expect(typesOnlyOnServer(new StreamNames(), {})).toBe(false);
  });
});

describe('EventStoreDB revisions and append errors', () => {
  it('maps every expected-revision kind to the client\'s', () => {
    expect(toStreamState('any')).toBe('any');
    expect(toStreamState('no_stream')).toBe('no_stream');
    expect(toStreamState('stream_exists')).toBe('stream_exists');
    expect(toStreamState(0)).toBe(0n);
    expect(toStreamState(41)).toBe(41n);
    expect(() => toStreamState(-1)).toThrow(RangeError);
    expect(() => toStreamState(1.5)).toThrow(RangeError);
  });

  it('reads a missing, deleted or tombstoned stream as revision -1', () => {
    expect(fromCurrentState('no_stream')).toBe(-1);
    expect(fromCurrentState(-5n)).toBe(-1);
    expect(fromCurrentState(undefined)).toBe(-1);
    expect(fromCurrentState(7n)).toBe(7);
  });

  it("turns the client's errors into the port's, naming the stream and both revisions; passes others through", () => {
    const conflict = mapAppendError(new WrongExpectedVersionError(undefined, { streamName: 'svc.order-1', expected: 2n, current: 4n }), 'order-1', 2);
    expect(conflict).toBeInstanceOf(WrongExpectedRevisionError);
    expect(conflict).toMatchObject({ streamId: 'order-1', expected: 2, actual: 4, status: 409 });
    const missing = mapAppendError(new WrongExpectedVersionError(undefined, { streamName: 'order-2', expected: 'stream_exists', current: 'no_stream' }), 'order-2', 'stream_exists');
    expect(missing).toMatchObject({ expected: 'stream_exists', actual: -1 });
    const large = mapAppendError(new MaxAppendSizeExceededError(undefined, 1_048_576), 'order-3', 'any');
    expect(large).toBeInstanceOf(InvalidAppendError);
    expect((large as InvalidAppendError).status).toBe(400);
    const other = new Error('unavailable');
    expect(mapAppendError(other, 'order-4', 'any')).toBe(other);
  });
});

describe('EventStoreDB event layout', () => {
  const names = new StreamNames('order-service.');
  const event = {
    id: '0b0c7c1e-5d38-4f44-9d37-6a2f1e0c9b11',
    type: 'order.placed',
    schemaVersion: 2,
    data: { orderId: 'o-1', lines: [{ sku: 'SKU-1', quantity: 2 }], note: null },
    metadata: { correlationId: 'corr-1', causationId: 'cause-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'shop=1', tenant: { id: 7 } },
  };
  /** What the server hands back for what `encodeEvent` wrote. */
  const asStored = (written: ReturnType<typeof encodeEvent>, over: Partial<ServerEvent> = {}): ServerEvent => ({
    streamId: names.of('order-o-1'),
    id: written.id,
    revision: 3n,
    type: written.type,
    created: new Date('2026-12-02T10:00:00.123Z'),
    isJson: true,
    data: written.data,
    metadata: written.metadata,
    position: { commit: 4096n, prepare: 4096n },
    ...over,
  });

  it('round-trips type, schema version, data, metadata (correlation, causation, traceparent and the rest) and the recorded time', () => {
    const written = encodeEvent(event);
    expect(written.metadata).toMatchObject({ $correlationId: 'corr-1', $causationId: 'cause-1', schemaVersion: '2' });
    for (const value of Object.values(written.metadata as object)) expect(typeof value).toBe('string');
    expect(decodeEvent(asStored(written), names, true)).toEqual({
      ...event,
      streamId: 'order-o-1',
      revision: 3,
      position: 4096,
      recordedAt: new Date('2026-12-02T10:00:00.123Z'),
    });
  });

  it('stores schema version 1 and empty metadata as nothing, and reads them back as 1 and {}', () => {
    const written = encodeEvent({ ...event, schemaVersion: 1, metadata: {} });
    expect(written.metadata).toEqual({});
    expect(decodeEvent(asStored(written), names, true)).toMatchObject({ schemaVersion: 1, metadata: {} });
  });

  it('leaves the metadata out when the reader does not want it, and ignores keys the server adds', () => {
    const written = encodeEvent(event);
    expect(decodeEvent(asStored(written), names, false)!.metadata).toEqual({});
    const extra = asStored(written, { metadata: { ...(written.metadata as object), $v: '2' } });
    expect(decodeEvent(extra, names, true)!.metadata).toEqual(event.metadata);
  });

  it("shows nothing of another service's, an inbox or a system stream", () => {
    const written = encodeEvent(event);
    expect(decodeEvent(asStored(written, { streamId: 'catalog-service.product-1' }), names, true)).toBeUndefined();
    expect(decodeEvent(asStored(written, { streamId: names.inbox('coordinator', 'm-1') }), names, true)).toBeUndefined();
    expect(decodeEvent(asStored(written, { streamId: '$ce-order' }), new StreamNames(), true)).toBeUndefined();
  });

  it('refuses a record it did not write, naming it: binary data, no position, an explicit transaction, a bad schema version or metadata', () => {
    const written = encodeEvent(event);
    const cases: Array<[string, Partial<ServerEvent>, RegExp]> = [
      ['binary', { isJson: false, data: new Uint8Array([1]) }, /not JSON/],
      ['no position', { position: undefined }, /no log position/],
      ['transaction', { position: { commit: 5000n, prepare: 4000n } }, /commit 5000, prepare 4000/],
      ['schema version', { metadata: { schemaVersion: 'two' } }, /schemaVersion two/],
      ['metadata', { metadata: { metadata: '{not json' } }, /metadata is not JSON/],
    ];
    for (const [name, over, reason] of cases) {
      let err: unknown;
      try {
        decodeEvent(asStored(written, over), names, true);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(CorruptEventError);
      expect((err as Error).message, name).toMatch(reason);
      expect((err as Error).message, name).toMatch(/order-o-1/);
    }
  });
});
