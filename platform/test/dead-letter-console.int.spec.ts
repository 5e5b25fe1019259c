import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, deadLetterMessage, type ConsumedMessage } from '../src/bus/bus';
import { deadLetterStream } from '../src/dead-letters/dead-letter-actions';
import { deadLetterTopicOf } from '../src/dead-letters/dead-letter-console';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../src/messaging/message-processor';
import { defineService, serviceConfig } from '../src/service/service-definition';
import { startServiceForTest, type ServiceUnderTest } from '../src/testing';
import { waitFor } from '../src/testing/event-store-conformance';
import { Increment, counterHandlers, counterStream } from './fixtures/counter-contract';

const GROUP = 'counter-service';
const DLQ = deadLetterTopicOf(GROUP);

/** A counter whose increments must come in sequence (by = increments so far + 1): one that comes early is dead-lettered. */
const counterService = defineService({
  description: 'A counter per key, for the dead-letter console test.',
  config: serviceConfig('counter-service'),
  migrations: { set: 'counter', migrations: {} },
  consumes: { counter: { group: GROUP, handlers: () => counterHandlers({ sequence: true }) } },
});

interface Letter {
  id: string;
  status: string;
  reason: string;
  key: string;
  type: string | null;
  messageId: string | null;
  headers: Record<string, string>;
  actions: { type: string; by: string; reason: string; outcome?: string; error?: string }[];
}

describe('the dead-letter console (a service host with a consumer)', () => {
  let svc: ServiceUnderTest;
  let admin: string;

  beforeAll(async () => {
    svc = await startServiceForTest(counterService, { label: 'dlq_console', env: { TOPIC_PARTITIONS: '2' } });
    admin = await svc.token('admin', 'operator-ann');
  }, 60_000);
  afterAll(async () => svc?.stop());

  const publish = async (key: string, by: number, id = randomUUID()) => {
    await svc.bus.publish([Increment.build({ key, by }, { id, source: 'test', correlationId: id })]);
    return id;
  };
  const list = async (query = '') => (await svc.request('GET', `/v1/admin/dead-letters${query}`, { token: admin })).json as { items: Letter[]; nextCursor: string | null };
  /** The letter of message `messageId`, once the index has it. */
  const letterOf = async (messageId: string): Promise<Letter> => {
    let found: Letter | undefined;
    await waitFor(async () => {
      found = (await list('?status=all&limit=100')).items.find((l) => l.messageId === messageId);
      return found !== undefined;
    }, 15_000);
    return (await svc.request('GET', `/v1/admin/dead-letters/${found!.id}`, { token: admin })).json as Letter;
  };
  const total = async (key: string) => (await svc.store.readStream(counterStream(key))).reduce((sum, e) => sum + (e.data as { by: number }).by, 0);

  it('lists a dead-lettered message with its original headers and the reason, and shows it', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const id = await publish(key, 2);
    const letter = await letterOf(id);
    expect(letter).toMatchObject({ status: 'pending', key, type: 'test.increment', messageId: id, actions: [] });
    expect(letter.reason).toContain(`counter ${key} expects increment 1, not 2`);
    expect(letter.headers).toMatchObject({ ce_id: id, ce_type: 'test.increment', ce_source: 'test', [DEAD_LETTER_HEADERS.group]: GROUP });
    expect((await list()).items.map((l) => l.id)).toContain(letter.id);
  });

  it('replays a letter after the fix through the normal inbox: applied once, then refused as settled', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const early = await publish(key, 2);
    const letter = await letterOf(early);

    // Not fixed yet: rejected again, recorded, still pending.
    const failed = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, body: { reason: 'try before the fix' } });
    expect(failed.status).toBe(422);
    expect(failed.headers.get('content-type')).toContain('application/problem+json');
    expect(failed.json.detail).toContain('rejected again');
    expect(await total(key)).toBe(0);

    // The fix: the increment it waited for arrives.
    const first = await publish(key, 1);
    await waitFor(async () => (await total(key)) === 1, 10_000);
    void first;

    const replayed = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, body: { reason: 'increment 1 has arrived' } });
    expect(replayed.status).toBe(200);
    expect(replayed.json).toMatchObject({ status: 'replayed' });
    expect(replayed.json.actions).toEqual([
      expect.objectContaining({ type: 'DeadLetterReplayFailed', by: 'operator-ann', reason: 'try before the fix', error: expect.stringContaining('expects increment 1, not 2') }),
      expect.objectContaining({ type: 'DeadLetterReplayed', by: 'operator-ann', reason: 'increment 1 has arrived', outcome: 'handled' }),
    ]);
    expect(await total(key)).toBe(3);

    // Settled: a second replay and a skip are refused, and nothing is applied twice.
    for (const action of ['replay', 'skip']) {
      const again = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/${action}`, { token: admin, body: { reason: 'once more' } });
      expect(again.status).toBe(409);
      expect(again.json.detail).toContain('already replayed');
    }
    expect(await total(key)).toBe(3);

    // Every action is an event on the letter's stream, with who and why.
    const events = await svc.store.readStream(deadLetterStream(letter.id));
    expect(events.map((e) => [e.type, (e.data as { by: string }).by])).toEqual([
      ['DeadLetterReplayFailed', 'operator-ann'],
      ['DeadLetterReplayed', 'operator-ann'],
    ]);
    expect((await list('?status=replayed&limit=100')).items.map((l) => l.id)).toContain(letter.id);
    expect((await list('?status=pending&limit=100')).items.map((l) => l.id)).not.toContain(letter.id);
  });

  it('replays a letter whose message the inbox already has as already-handled, applying nothing', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const id = await publish(key, 1);
    await waitFor(async () => (await total(key)) === 1, 10_000);
    // A dead letter of a message that was handled after all (dead-lettered by one member, redelivered to another).
    const original = Increment.build({ key, by: 1 }, { id, source: 'test', correlationId: id });
    const consumed: ConsumedMessage = { ...original, headers: original.headers ?? {}, partition: 0, offset: 0, publishedAt: new Date(), attempt: 5 };
    await svc.bus.publish([deadLetterMessage(consumed, GROUP, DLQ, new Error('lost its partition mid-delivery'), 5)]);
    const letter = await letterOf(id);
    const replayed = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, body: { reason: 'check it is in' } });
    expect(replayed.status).toBe(200);
    expect(replayed.json.actions).toEqual([expect.objectContaining({ type: 'DeadLetterReplayed', outcome: 'already-handled' })]);
    expect(await total(key)).toBe(1);
  });

  it('skips a letter that will never apply, recording who and why', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const id = await publish(key, 13);
    const letter = await letterOf(id);
    expect(letter.reason).toContain('13 is not a number this counter adds');
    const skipped = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/skip`, { token: await svc.token('admin', 'operator-bo'), body: { reason: 'thirteen is refused by design' } });
    expect(skipped.status).toBe(200);
    expect(skipped.json).toMatchObject({ status: 'skipped', actions: [{ type: 'DeadLetterSkipped', by: 'operator-bo', reason: 'thirteen is refused by design' }] });
    const replay = await svc.request('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: admin, body: { reason: 'changed my mind' } });
    expect(replay.status).toBe(409);
    expect(await total(key)).toBe(0);
  });

  it(`dead-letters a message over ${DEFAULT_MAX_MESSAGE_BYTES} bytes unread, and the console shows its first 64 KiB`, async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const out = Increment.build({ key, by: 1 }, { id, source: 'test', correlationId: id });
    const big = JSON.stringify({ key, by: 1, padding: 'x'.repeat(2 * 1024 * 1024) });
    await svc.bus.publish([{ ...out, value: big }]);
    const letter = (await letterOf(id)) as Letter & { bytes: number; value: string; valueTruncated: boolean };
    expect(letter.reason).toMatch(/message of \d+ bytes is over the 1048576-byte limit/);
    expect(letter.bytes).toBe(Buffer.byteLength(big));
    expect(letter.valueTruncated).toBe(true);
    expect(letter.value).toHaveLength(64 * 1024);
    expect(await total(key)).toBe(0);
  });

  it('pages with a cursor, and filters by status and group', async () => {
    const first = await list('?status=all&limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toMatch(/^\d+$/);
    const second = await list(`?status=all&limit=1&cursor=${first.nextCursor}`);
    expect(second.items[0]!.id).not.toBe(first.items[0]!.id);
    expect((await list('?status=all&group=someone-else')).items).toEqual([]);
  });

  it('answers bad requests with 4xx problems, and only to admins', async () => {
    const { items } = await list('?status=all');
    const id = items[0]!.id;
    const customer = await svc.token('customer');
    expect((await svc.request('GET', '/v1/admin/dead-letters')).status).toBe(401);
    expect((await svc.request('GET', '/v1/admin/dead-letters', { token: customer })).status).toBe(403);
    expect((await svc.request('POST', `/v1/admin/dead-letters/${id}/skip`, { token: customer, body: { reason: 'not mine to skip' } })).status).toBe(403);
    expect((await svc.request('GET', `/v1/admin/dead-letters/${randomUUID()}`, { token: admin })).status).toBe(404);
    expect((await svc.request('GET', '/v1/admin/dead-letters/not-a-uuid', { token: admin })).status).toBe(400);
    expect((await svc.request('GET', '/v1/admin/dead-letters?status=lost', { token: admin })).status).toBe(400);
    expect((await svc.request('GET', '/v1/admin/dead-letters?cursor=abc', { token: admin })).status).toBe(400);
    expect((await svc.request('GET', '/v1/admin/dead-letters?limit=1e1', { token: admin })).status).toBe(400);
    const noReason = await svc.request('POST', `/v1/admin/dead-letters/${id}/skip`, { token: admin, body: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.json.errors).toEqual([expect.objectContaining({ path: 'body.reason' })]);
    expect((await svc.request('POST', `/v1/admin/dead-letters/${id}/skip`, { token: admin, body: { reason: 'ok', extra: 1 } })).status).toBe(400);
  });
});
