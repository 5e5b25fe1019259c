import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../src/event-store/event-store';
import { CorruptEventError, combineCodecs, eventCodec } from '../src/event-store/event-codec';

type Opened = { type: 'Opened'; owner: string; limit?: number };
type Closed = { type: 'Closed'; at: string };
type Renamed = { type: 'Renamed'; name: string };

const accounts = eventCodec<Opened | Closed>({
  Opened: z.object({ owner: z.string().min(1), limit: z.number().int().optional() }),
  Closed: z.object({ at: z.iso.datetime() }),
});
const labels = eventCodec<Renamed>({ Renamed: z.object({ name: z.string() }) });

const stored = (type: string, data: unknown): RecordedEvent => ({
  id: '5b0c9c3e-6f5e-4c52-9d6a-7c4f0d1e2a33',
  streamId: 'account-42',
  revision: 7,
  position: 99,
  type,
  schemaVersion: 1,
  data,
  metadata: {},
  recordedAt: new Date('2030-01-01T00:00:00Z'),
});

describe('event codecs', () => {
  it('reads a stored event back as its domain event: the type next to the validated data', () => {
    expect(accounts.decode(stored('Opened', { owner: 'ann', limit: 10 }))).toEqual({ type: 'Opened', owner: 'ann', limit: 10 });
    expect(accounts.decode(stored('Closed', { at: '2030-01-02T00:00:00Z' }))).toEqual({ type: 'Closed', at: '2030-01-02T00:00:00Z' });
    expect(accounts.types).toEqual(['Opened', 'Closed']);
  });

  it('refuses data that does not match the schema of its type, naming the stream, the revision and the field', () => {
    const read = () => accounts.decode(stored('Opened', { owner: '', limit: 1.5 }));
    expect(read).toThrow(CorruptEventError);
    expect(read).toThrow(/Opened at revision 7 of account-42.*owner.*limit/);
  });

  it('refuses a type the aggregate does not know, instead of letting it into evolve', () => {
    expect(() => accounts.decode(stored('Deleted', {}))).toThrow(/Deleted at revision 7 of account-42 .* the type is not one of Opened, Closed/);
    expect(() => accounts.decode(stored('Opened', null))).toThrow(CorruptEventError);
  });

  it('combines the codecs of several aggregates for a relay that reads them all', () => {
    const both = combineCodecs<Opened | Closed | Renamed>(accounts, labels);
    expect(both.decode(stored('Renamed', { name: 'x' }))).toEqual({ type: 'Renamed', name: 'x' });
    expect(both.decode(stored('Opened', { owner: 'bo' }))).toEqual({ type: 'Opened', owner: 'bo' });
    expect(() => both.decode(stored('Closed', { at: 'yesterday' }))).toThrow(CorruptEventError);
    expect(both.knows('Renamed') && !both.knows('Deleted')).toBe(true);
  });

  it('needs a schema for every event type: a forgotten one fails the type check', () => {
    // @ts-expect-error — `Closed` has no schema
    eventCodec<Opened | Closed>({ Opened: z.object({ owner: z.string() }) });
    // @ts-expect-error — the schema of `Closed` does not give `at`
    eventCodec<Opened | Closed>({ Opened: z.object({ owner: z.string() }), Closed: z.object({ when: z.string() }) });
  });
});
