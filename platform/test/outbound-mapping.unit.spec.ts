import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../src/envelope/envelope';
import type { RecordedEvent } from '../src/event-store/event-store';
import { z } from 'zod';
import { eventCodec } from '../src/event-store/event-codec';
import { INTERNAL, UnmappedEventError, outboundMessages, send } from '../src/messaging/outbound';
import { counterKit } from './fixtures/counter-contract';

type ShopEvent = { type: 'Counted'; key: string; by: number } | { type: 'Forgotten'; key: string } | { type: 'Noted'; key: string };

const { Increment } = counterKit('test.events');
const codec = eventCodec<ShopEvent>({
  Counted: z.object({ key: z.string(), by: z.number() }),
  Forgotten: z.object({ key: z.string() }),
  Noted: z.object({ key: z.string() }),
});

const recorded = (type: string, data: object, metadata: RecordedEvent['metadata'] = {}): RecordedEvent => ({
  id: '0d6c1c52-8d1c-4f7a-9a51-3b7f7f0b2c11',
  streamId: 'counter-k',
  revision: 3,
  position: 40,
  type,
  schemaVersion: 1,
  data,
  metadata,
  recordedAt: new Date('2026-01-02T03:04:05.006Z'),
});

describe('outbound mapping', () => {
  it('needs an entry for every event type: a forgotten one fails the type check', () => {
    // The mapping's type has a key per event type: without `Noted`, `npm run typecheck` fails on this line.
    // @ts-expect-error — `Noted` is missing
    outboundMessages<ShopEvent>('test', { Counted: (e) => send(Increment, { key: e.key, by: e.by }), Forgotten: INTERNAL }, codec);
    // And a key that is no event type is refused as well.
    outboundMessages<ShopEvent>('test', {
      Counted: (e) => send(Increment, { key: e.key, by: e.by }),
      Forgotten: INTERNAL,
      Noted: INTERNAL,
      // @ts-expect-error — not an event type of the union
      Invented: INTERNAL,
    }, codec);
    // A mapping's data is typed by its contract: a wrong field fails too.
    // @ts-expect-error — `by` is a number in the contract
    send(Increment, { key: 'k', by: 'one' });
  });

  const toMessages = outboundMessages<ShopEvent>('counter-service', {
    Counted: (e) => send(Increment, { key: e.key, by: e.by }),
    Forgotten: INTERNAL,
    Noted: (e, event) => [send(Increment, { key: e.key, by: 1 }, { id: 'noted-1', causationId: event.id }), send(Increment, { key: e.key, by: 2 }, { id: 'noted-2' })],
  }, codec);

  it('builds each message from its contract, with the stored event as message id, time and source of its trace', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const [message, ...rest] = toMessages(recorded('Counted', { key: 'k', by: 3 }, { correlationId: 'corr-1', causationId: 'cause-1', traceparent }));
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ topic: 'test.events', key: 'k' });
    expect(decodeEnvelope(message!)).toMatchObject({
      id: '0d6c1c52-8d1c-4f7a-9a51-3b7f7f0b2c11',
      type: 'test.increment',
      source: 'counter-service',
      correlationid: 'corr-1',
      causationid: 'cause-1',
      traceparent,
      time: '2026-01-02T03:04:05.006Z',
      data: { key: 'k', by: 3 },
    });
  });

  it('keeps internal events inside, lets a mapping send several messages with ids of their own, and names what it publishes', () => {
    expect(toMessages(recorded('Forgotten', { key: 'k' }))).toEqual([]);
    const noted = toMessages(recorded('Noted', { key: 'k' }));
    expect(noted.map((m) => decodeEnvelope(m).id)).toEqual(['noted-1', 'noted-2']);
    expect(decodeEnvelope(noted[0]!).causationid).toBe('0d6c1c52-8d1c-4f7a-9a51-3b7f7f0b2c11');
    // The relay reads only the types it publishes.
    expect(toMessages.relayedTypes).toEqual(['Counted', 'Noted']);
  });

  it('refuses, loudly, a stored event of a type the mapping does not know', () => {
    expect(() => toMessages(recorded('Renamed', { key: 'k' }))).toThrow(UnmappedEventError);
    expect(() => toMessages(recorded('Renamed', { key: 'k' }))).toThrow(/Renamed .* has no outbound mapping/);
  });

  it('validates what it builds against the contract', () => {
    expect(() => toMessages(recorded('Counted', { key: 'k', by: 1_000 }))).toThrow();
  });
});
