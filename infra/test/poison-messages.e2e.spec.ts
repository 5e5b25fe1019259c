import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { allMessages } from '@shop/contracts';
import { DEAD_LETTER_HEADERS, createBusFromEnv, encodeEnvelope, envelope, type Bus, type OutgoingMessage } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDlq } from '../dlq/dlq-cli';
import { LocalStack, repoRoot, stopAllStacks } from './support/local-stack';
import { STACK_SERVICES as SERVICES, auditUntilClean, consumerSubscriptions } from './support/stack-checks';
import { STACK_BUSES as BUSES } from './support/stack-buses';

type Kind = 'undecodable' | 'unknown-type' | 'unknown-version' | 'schema' | 'too-large';
const REASONS: Record<Kind, RegExp> = {
  undecodable: /not a valid envelope/,
  'unknown-type': /unknown message type poison\.unknown-type/,
  'unknown-version': /version 99/,
  schema: /invalid|expected|required/i,
  'too-large': /over the 1048576-byte limit/,
};

interface Poison {
  kind: Kind;
  topic: string;
  key: string;
  /** Every group that must dead-letter it. */
  groups: string[];
  message: OutgoingMessage;
}

/**
 * Poison on every topic the services consume, on the running stack: messages
 * that do not decode, of an unknown type, of an unknown version, that fail
 * their schema, and of 2 MB. Each lands in the dead-letter topic of every
 * group that reads it, with its original headers and the reason; the orders
 * placed before and after it all complete; the auditor finds nothing; and the
 * dead-letter console (`npm run dlq`) lists, shows, skips and replays them.
 */
describe.each(BUSES)('poison messages on every topic (%s bus)', (busKind) => {
  let stack: LocalStack;
  let bus: Bus;
  let customer: string;
  let admin: string;
  let skus: string[];
  const poisons: Poison[] = [];
  const orderIds: string[] = [];
  let subscriptions: { service: string; group: string; topic: string }[] = [];

  beforeAll(async () => {
    stack = await LocalStack.start({ bus: busKind, args: ['--reset'] });
    bus =
      busKind === 'kafka'
        ? createBusFromEnv({ BUS: 'kafka', KAFKA_BROKERS: stack.kafka().brokers, LOG_LEVEL: 'silent' })
        : createBusFromEnv({ BUS: 'postgres', BUS_DATABASE_URL: stack.stack.databases.bus!.url, LOG_LEVEL: 'silent' });
    customer = await stack.token('customer');
    admin = await stack.token('admin', 'poison-test');
    skus = (await stack.products('limit=20')).map((p) => p.sku);
  }, 900_000);
  afterAll(async () => {
    await bus?.close();
    await stopAllStacks();
  });

  const placeOrders = async (n: number) => {
    for (let i = 0; i < n; i++) orderIds.push(await stack.placeOrder(customer, [{ sku: skus[i % skus.length]!, quantity: 1 }], 'tok_approve'));
  };
  const stackFile = () => path.join(stack.dataDir, 'stack.json');

  it('finds who consumes what from the services’ own lag gauges', async () => {
    subscriptions = await consumerSubscriptions(stack);
    // Every service consumes something, and every topic of the contracts that has consumers is read.
    expect(new Set(subscriptions.map((s) => s.service))).toEqual(new Set(SERVICES));
    const consumed = new Set(allMessages.filter((m) => m.consumers.length > 0).map((m) => m.topic));
    expect(new Set(subscriptions.map((s) => s.topic))).toEqual(consumed);
  });

  it('dead-letters every kind of poison on every topic, with its headers and the reason, while the orders around it complete', async () => {
    await placeOrders(4);
    const topics = [...new Set(subscriptions.map((s) => s.topic))];
    const groupsOf = (topic: string) => subscriptions.filter((s) => s.topic === topic).map((s) => s.group);
    const headersOf = (type: string, version: number, id: string) => ({
      ...encodeEnvelope(envelope({ id, source: 'poison-test', type, schemaversion: version, correlationid: id, data: {} }), { topic: 'x', key: 'x' }).headers,
      'x-poison': 'yes',
    });
    for (const topic of topics) {
      const key = () => `poison-${randomUUID()}`;
      const k1 = key();
      poisons.push({ kind: 'undecodable', topic, key: k1, groups: groupsOf(topic), message: { topic, key: k1, value: 'not json {', headers: { 'x-poison': 'yes' } } });
      const k2 = key();
      poisons.push({ kind: 'unknown-type', topic, key: k2, groups: groupsOf(topic), message: { topic, key: k2, value: '{}', headers: headersOf('poison.unknown-type', 1, randomUUID()) } });
      for (const { service, group } of subscriptions.filter((s) => s.topic === topic)) {
        // A type on this topic that this group reads (the analytics archive reads every one).
        const definition = allMessages.find((m) => m.topic === topic && m.consumers.includes(`${service}-service` as never)) ?? allMessages.find((m) => m.topic === topic)!;
        const typed = (kind: Kind, version: number, value: string) => {
          const k = key();
          poisons.push({ kind, topic, key: k, groups: [group], message: { topic, key: k, value, headers: headersOf(definition.type, version, randomUUID()) } });
        };
        typed('unknown-version', 99, '{}');
        typed('schema', definition.version, JSON.stringify({ poison: true }));
        typed('too-large', definition.version, JSON.stringify({ poison: true, padding: 'x'.repeat(2 * 1024 * 1024) }));
      }
    }
    // Poison and good orders interleaved.
    for (const [i, p] of poisons.entries()) {
      await bus.publish([p.message]);
      if (i % 10 === 0) await placeOrders(1);
    }
    await placeOrders(4);

    for (const orderId of orderIds) expect((await stack.waitForOrder(customer, orderId, ['confirmed', 'rejected'], 120_000)).status).toBe('confirmed');

    // Each poison, in the console of every group that reads it.
    const expected = poisons.flatMap((p) => p.groups.map((group) => ({ ...p, group })));
    type Letter = { key: string; group: string; reason: string; topic: string; bytes: number; service: string; id: string };
    let letters: Letter[] = [];
    await waitFor(async () => {
      letters = [];
      for (const service of SERVICES) {
        let cursor: string | null = null;
        do {
          const res: { status: number; body: { items: Letter[]; nextCursor: string | null } } = await stack.request(`${service}-service`, 'GET', `/v1/admin/dead-letters?status=all&limit=100${cursor ? `&cursor=${cursor}` : ''}`, admin);
          letters.push(...res.body.items.map((l) => ({ ...l, service })));
          cursor = res.body.nextCursor;
        } while (cursor);
      }
      return expected.every((e) => letters.some((l) => l.key === e.key && l.group === e.group));
    }, 120_000).catch(() => undefined);
    const missing = expected.filter((e) => !letters.some((l) => l.key === e.key && l.group === e.group));
    expect(missing.map((m) => `${m.kind} on ${m.topic} for ${m.group}`)).toEqual([]);
    for (const e of expected) {
      const letter = letters.find((l) => l.key === e.key && l.group === e.group)!;
      expect(letter.reason, `${e.kind} on ${e.topic} for ${e.group}`).toMatch(REASONS[e.kind]);
      expect(letter.topic).toBe(e.topic);
    }
    // Original headers kept, next to the dlq-* ones.
    const sample = letters.find((l) => l.key === poisons.find((p) => p.kind === 'unknown-version')!.key)!;
    const detail = await stack.request<{ headers: Record<string, string> }>(`${sample.service}-service`, 'GET', `/v1/admin/dead-letters/${sample.id}`, admin);
    const original = poisons.find((p) => p.key === sample.key)!.message.headers!;
    expect(detail.body.headers).toMatchObject({ ...original, [DEAD_LETTER_HEADERS.topic]: sample.topic, [DEAD_LETTER_HEADERS.group]: sample.group });

    console.log(
      JSON.stringify({
        poison: {
          bus: busKind,
          topics: topics.length,
          subscriptions: subscriptions.length,
          published: poisons.length,
          deadLettersExpected: expected.length,
          deadLettersFound: letters.length,
          byKind: Object.fromEntries((Object.keys(REASONS) as Kind[]).map((k) => [k, expected.filter((e) => e.kind === k).length])),
          goodOrdersConfirmed: orderIds.length,
        },
      }),
    );
  }, 600_000);

  it('leaves the five services agreeing: the auditor finds nothing', async () => {
    expect((await auditUntilClean(stack)).violations).toEqual([]);
  }, 120_000);

  it('npm run dlq lists them, shows one, skips one with who and why, and refuses to replay poison that is still poison', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l) };
    const base = ['--stack-file', stackFile()];
    expect(await runDlq(['list', '--json', ...base], io)).toBe(0);
    const listed = JSON.parse(lines.pop()!) as { count: number; deadLetters: { id: string; key: string; service: string }[] };
    expect(listed.count).toBeGreaterThanOrEqual(poisons.length);

    const undecodable = listed.deadLetters.find((l) => l.key === poisons.find((p) => p.kind === 'undecodable')!.key)!;
    expect(await runDlq(['show', undecodable.id, ...base], io)).toBe(0);
    expect(JSON.parse(lines.pop()!)).toMatchObject({ id: undecodable.id, status: 'pending', value: 'not json {' });

    expect(await runDlq(['replay', undecodable.id, '--reason', 'see whether it reads now', '--by', 'ops-carla', ...base], io)).toBe(1);
    expect(errors.pop()).toMatch(/422 .*rejected again/);
    expect(await runDlq(['skip', undecodable.id, '--reason', 'garbage, never applies', '--by', 'ops-carla', ...base], io)).toBe(0);
    expect(JSON.parse(lines.pop()!)).toMatchObject({ id: undecodable.id, status: 'skipped', action: 'DeadLetterSkipped', by: 'ops-carla' });
    expect(await runDlq(['skip', undecodable.id, '--reason', 'twice', ...base], io)).toBe(1);
    expect(await runDlq(['replay', undecodable.id, ...base], io)).toBe(2); // no --reason

    // The real command, as an operator runs it.
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'infra/dlq/dlq-cli.ts', 'show', undecodable.id, '--json', ...base], { cwd: repoRoot });
    const shown = JSON.parse(stdout) as { status: string; actions: { type: string; by: string; reason: string }[] };
    expect(shown.status).toBe('skipped');
    expect(shown.actions.map((a) => [a.type, a.by, a.reason])).toEqual([
      ['DeadLetterReplayFailed', 'ops-carla', 'see whether it reads now'],
      ['DeadLetterSkipped', 'ops-carla', 'garbage, never applies'],
    ]);
  }, 120_000);
});
