import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReserveStock, buildMessage, contractJsonSchemas, contracts, decodeContract, type MessageData } from '@shop/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '@shop/platform';
import { ARCHIVE_DIR, expectMessage, pactFilesFor, verifyProviderPacts, type VerificationRecord } from '@shop/platform/testing/pacts';

const CONSUMER = 'fixture-consumer';
const PROVIDER = 'fixture-producer';
const STATE = 'an order is priced';
const DESCRIPTION = 'inventory.reserve-stock v1';
const schema = contractJsonSchemas([ReserveStock])['inventory.reserve-stock@v1'] as object;

const reserveStock = (data: MessageData<typeof ReserveStock>) =>
  buildMessage(ReserveStock, data, { id: randomUUID(), source: 'coordinator-service', correlationId: randomUUID(), time: new Date().toISOString() });
/** The message with its JSON data changed, as a producer that breaks the contract would publish it. */
const withData = (message: OutgoingMessage, change: (data: Record<string, unknown>) => unknown): OutgoingMessage => ({
  ...message,
  value: JSON.stringify(change(JSON.parse(message.value) as Record<string, unknown>)),
});

/**
 * The Pact harness must bite: a consumer that does not handle its example
 * writes no pact, and a producer whose message breaks what the pact holds
 * (a field missing, a field of another type, a state it does not know)
 * fails its verification and records it as failed. Pacts and results go to
 * a temporary directory, never to the repository's.
 */
describe('message pacts (the harness)', () => {
  let dir: string;
  const tmp = (name: string) => fs.mkdtempSync(path.join(dir, `${name}-`));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'message-pacts-'));
    await expectMessage({
      consumer: CONSUMER,
      provider: PROVIDER,
      state: STATE,
      message: reserveStock({ orderId: randomUUID(), lines: [{ sku: 'SKU-1', quantity: 2 }] }),
      schema,
      dir,
      handle: async (m) => {
        expect(decodeContract(contracts, m).data).toMatchObject({ lines: [{ sku: 'SKU-1', quantity: 2 }] });
      },
    });
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Verifies the fixture pact against a producer whose message is `build`, with results in a directory of their own. */
  const verify = async (build: () => OutgoingMessage, states: readonly string[] = [STATE]) => {
    const resultsDir = tmp('results');
    const outcome = verifyProviderPacts({ provider: PROVIDER, version: '0.0.0', states, messages: { [DESCRIPTION]: build }, dir, resultsDir });
    const settled = await outcome.then(
      () => undefined,
      (err: unknown) => err,
    );
    const records = JSON.parse(fs.readFileSync(path.join(resultsDir, `${PROVIDER}.json`), 'utf8')) as VerificationRecord[];
    return { error: settled, records };
  };
  const good = () => reserveStock({ orderId: randomUUID(), lines: [{ sku: 'SKU-9', quantity: 7 }] });

  it('writes no pact, and fails, when the consumer does not handle its example', async () => {
    const own = tmp('pacts');
    const failing = expectMessage({
      consumer: CONSUMER,
      provider: PROVIDER,
      state: STATE,
      message: good(),
      schema,
      dir: own,
      handle: () => Promise.reject(new Error('the handler rejected the message')),
    });
    await expect(failing).rejects.toThrow(/the handler rejected the message/);
    expect(fs.readdirSync(own)).toEqual([]);
  });

  it('fails a producer whose message lacks a field the pact requires, and records it as not verified', async () => {
    const { error, records } = await verify(() => withData(good(), ({ lines: _lines, ...rest }) => rest));
    expect(String(error)).toMatch(/pact verification failed/);
    expect(records).toEqual([expect.objectContaining({ provider: PROVIDER, consumer: CONSUMER, interactions: [DESCRIPTION], verified: false })]);
    // Pact's verifier (pact-core 18) prints the mismatch ("missing the following keys: lines") to the test output; the record says it failed.
    expect(records[0]!.error).toMatch(/Veri?fication failed|missing the following keys: lines/);
  });

  it('fails a producer whose message has a field of another type', async () => {
    const { error, records } = await verify(() => withData(good(), (data) => ({ ...data, lines: [{ sku: 'SKU-9', quantity: '7' }] })));
    expect(String(error)).toMatch(/pact verification failed/);
    expect(records.map((r) => r.verified)).toEqual([false]);
    expect(records[0]!.error).toMatch(/Veri?fication failed|\$\.lines\[0\]\.quantity.*to be an integer/);
  });

  it('fails a producer that does not know the provider state the pact names', async () => {
    let built = 0;
    const { error, records } = await verify(() => {
      built++;
      return good();
    }, ['some other state']);
    expect(String(error)).toMatch(/pact verification failed/);
    expect(records.map((r) => r.verified)).toEqual([false]);
    expect(records[0]!.error).toBe(`${PROVIDER} knows no provider state '${STATE}'`);
    // Refused before the message was built: no message stands in for a state the producer cannot set up.
    expect(built).toBe(0);
  });

  it('passes a producer whose message matches, with other values than the example', async () => {
    const { error, records } = await verify(good);
    expect(error).toBeUndefined();
    expect(records).toEqual([expect.objectContaining({ consumer: CONSUMER, verified: true, interactions: [DESCRIPTION] })]);
    expect(records[0]!.pactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pactFilesFor(PROVIDER, dir)).toHaveLength(1);
  });

  it('verifies the archived pacts of earlier consumer releases too, recording them as archived', async () => {
    const own = tmp('with-archive');
    const [current] = pactFilesFor(PROVIDER, dir);
    const archived = path.join(own, ARCHIVE_DIR, `${CONSUMER}@0.0.1-${PROVIDER}.json`);
    fs.mkdirSync(path.dirname(archived));
    fs.copyFileSync(current!, path.join(own, path.basename(current!)));
    fs.copyFileSync(current!, archived);
    expect(pactFilesFor(PROVIDER, own)).toEqual([path.join(own, path.basename(current!)), archived]);

    const resultsDir = tmp('results');
    const records = await verifyProviderPacts({ provider: PROVIDER, version: '0.0.0', states: [STATE], messages: { [DESCRIPTION]: good }, dir: own, resultsDir });
    expect(records.map((r) => [r.pactFile.split(path.sep).slice(-2).join('/'), r.verified])).toEqual([
      [`${path.basename(own)}/${CONSUMER}-${PROVIDER}.json`, true],
      [`${ARCHIVE_DIR}/${CONSUMER}@0.0.1-${PROVIDER}.json`, true],
    ]);
  });
});
