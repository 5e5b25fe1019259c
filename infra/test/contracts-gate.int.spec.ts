import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertRaised, AuthorizePayment, OrderPlaced, TOPICS, allMessages, defineMessage, listedVersions, type MessageDefinition, type MessageSpec } from '@shop/contracts';
import type { VerificationRecord } from '@shop/platform/testing/pacts';
import {
  ROOT,
  SNAPSHOTS_DIR,
  coverageGate,
  failureText,
  matrix,
  schemaGate,
  serviceVersions,
  snapshotsIn,
  stableJson,
  verificationError,
  writeMissingSnapshots,
} from '../contracts/contracts-gate';
import { compareSchemas } from '../contracts/schema-compatibility';

/**
 * The deploy gate of `npm run contracts:check` bites: each incompatible
 * change to a published schema, each consumed message without a verified
 * pact, fails it with a reason naming what; the compatible change (a new
 * optional field) and a complete fixture pass; and the real catalogue
 * matches its committed snapshots.
 */
const tempDirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contracts-gate-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const TYPE = 'order.fixture-recorded';
const Line = z.object({ sku: z.string().regex(/^[A-Z0-9-]+$/), quantity: z.number().int().min(1).max(10_000) });
const Total = z.object({ amount: z.number().int(), currency: z.string() });
const fields = { orderId: z.uuid(), lines: z.array(Line), total: Total, reason: z.string().optional() };

const fixture = (schema: z.ZodType, spec: Partial<MessageSpec> = {}): MessageDefinition =>
  defineMessage({
    type: TYPE,
    version: 1,
    kind: 'event',
    topic: TOPICS.orderEvents,
    schema,
    key: () => 'key',
    producer: 'order-service',
    consumers: ['analytics-service'],
    description: 'A fixture of the schema gate.',
    ...spec,
  });

const published = fixture(z.object(fields));

/** The failures of `current` against the snapshots of `publishedAs`. */
function schemaFailures(publishedAs: readonly MessageDefinition[], current: readonly MessageDefinition[]): string[] {
  const snapshotsDir = tempDir();
  writeMissingSnapshots({ definitions: publishedAs, snapshotsDir });
  return schemaGate({ definitions: current, snapshotsDir }).failures.map(failureText);
}

describe('the schema gate', () => {
  describe('when a published version changes', () => {
    it('passes when nothing changed', () => {
      expect(schemaFailures([published], [published])).toEqual([]);
    });

    it('passes a new optional field, at the top or in a nested object', () => {
      const current = fixture(z.object({ ...fields, channel: z.string().optional(), lines: z.array(Line.extend({ note: z.string().optional() })) }));
      expect(schemaFailures([published], [current])).toEqual([]);
    });

    it('passes a changed description', () => {
      expect(schemaFailures([published], [fixture(z.object(fields), { description: 'Reworded.' })])).toEqual([]);
    });

    it('fails a removed field, naming it', () => {
      const current = fixture(z.object({ ...fields, lines: z.array(Line.omit({ sku: true })) }));
      expect(schemaFailures([published], [current])).toEqual([expect.stringMatching(/^order\.fixture-recorded@v1: field `lines\[\]\.sku` removed: /)]);
    });

    it('fails a retyped field, naming both types', () => {
      const current = fixture(z.object({ ...fields, total: Total.extend({ amount: z.string() }) }));
      expect(schemaFailures([published], [current])).toEqual([expect.stringContaining('order.fixture-recorded@v1: `total.amount` was integer, now string')]);
    });

    it('fails a new required field', () => {
      const current = fixture(z.object({ ...fields, channel: z.string() }));
      expect(schemaFailures([published], [current])).toEqual([expect.stringContaining('order.fixture-recorded@v1: `channel` is a new required field')]);
    });

    it('fails an optional field made required', () => {
      const current = fixture(z.object({ ...fields, reason: z.string() }));
      expect(schemaFailures([published], [current])).toEqual([expect.stringContaining('order.fixture-recorded@v1: `reason` is now required')]);
    });

    it('fails a required field made optional: the published consumers expect it', () => {
      const current = fixture(z.object({ ...fields, orderId: z.uuid().optional() }));
      expect(schemaFailures([published], [current])).toEqual([expect.stringContaining('`orderId` is no longer required')]);
    });

    it('fails a narrowed or widened bound, either way', () => {
      const narrower = fixture(z.object({ ...fields, lines: z.array(Line.extend({ quantity: z.number().int().min(1).max(500) })) }));
      const wider = fixture(z.object({ ...fields, lines: z.array(Line.extend({ quantity: z.number().int().min(0).max(10_000) })) }));
      expect(schemaFailures([published], [narrower])).toEqual([expect.stringContaining('`lines[].quantity` maximum was 10000, now 500')]);
      expect(schemaFailures([published], [wider])).toEqual([expect.stringContaining('`lines[].quantity` minimum was 1, now 0')]);
    });

    it('fails a previous version whose schema changed, as it fails the current one', () => {
      const v2 = (v1Schema: z.ZodType) =>
        fixture(z.object({ ...fields, channel: z.string() }), { version: 2, previous: [{ version: 1, schema: v1Schema, upcast: (d) => ({ ...(d as object), channel: 'web' }) }] });
      expect(schemaFailures([v2(z.object(fields))], [v2(z.object({ ...fields, reason: z.string() }))])).toEqual([
        expect.stringContaining('order.fixture-recorded@v1: `reason` is now required'),
      ]);
    });
  });

  describe('when versions are added or removed', () => {
    const v1 = z.object(fields);
    const v2Schema = z.object({ ...fields, reason: z.string() });
    const v2 = fixture(v2Schema, { version: 2, previous: [{ version: 1, schema: v1, upcast: (d) => ({ reason: 'unknown', ...(d as object) }) }] });

    it('passes a new version with an upcaster from the one below, once its snapshot is written', () => {
      const snapshotsDir = tempDir();
      writeMissingSnapshots({ definitions: [published], snapshotsDir });
      expect(schemaGate({ definitions: [v2], snapshotsDir }).failures.map(failureText)).toEqual([expect.stringMatching(/^order\.fixture-recorded@v2: no snapshot in /)]);
      expect(writeMissingSnapshots({ definitions: [v2], snapshotsDir }).map((f) => path.basename(f))).toEqual([`${TYPE}@v2.json`]);
      expect(schemaGate({ definitions: [v2], snapshotsDir }).failures).toEqual([]);
    });

    it('fails a new version without an upcaster from the one below', () => {
      const failures = schemaFailures([published], [fixture(v2Schema, { version: 2 })]);
      expect(failures).toContainEqual(expect.stringContaining('order.fixture-recorded@v2: has no upcaster from v1'));
    });

    it('fails a gap in the chain of upcasters', () => {
      const v3 = fixture(v2Schema, { version: 3, previous: [{ version: 1, schema: v1, upcast: (d) => d }] });
      const snapshotsDir = tempDir();
      writeMissingSnapshots({ definitions: [v3], snapshotsDir });
      expect(schemaGate({ definitions: [v3], snapshotsDir }).failures.map(failureText)).toEqual([expect.stringContaining('order.fixture-recorded@v3: has no upcaster from v2')]);
    });

    it('fails a removed published version: consumers still read it', () => {
      const failures = schemaFailures([v2], [fixture(v2Schema, { version: 2 })]);
      expect(failures).toContainEqual(expect.stringContaining('order.fixture-recorded@v1: was published (order.fixture-recorded@v1.json) but order.fixture-recorded no longer lists v1'));
    });

    it('fails a removed message whose versions were published', () => {
      expect(schemaFailures([published, OrderPlaced], [OrderPlaced])).toEqual([expect.stringContaining('order.fixture-recorded@v1: was published (order.fixture-recorded@v1.json) but no message order.fixture-recorded is defined')]);
    });

    it('fails a published version without a snapshot', () => {
      expect(schemaGate({ definitions: [published], snapshotsDir: tempDir() }).failures.map(failureText)).toEqual([
        expect.stringContaining('order.fixture-recorded@v1: no snapshot in'),
      ]);
    });

    it('never overwrites a snapshot its version no longer agrees with', () => {
      const snapshotsDir = tempDir();
      const file = path.join(snapshotsDir, `${TYPE}@v1.json`);
      writeMissingSnapshots({ definitions: [published], snapshotsDir });
      fs.writeFileSync(file, '{"type":"object"}\n');
      expect(writeMissingSnapshots({ definitions: [published], snapshotsDir })).toEqual([]);
      expect(fs.readFileSync(file, 'utf8')).toBe('{"type":"object"}\n');
    });

    it('records the optional fields a version gained in its snapshot, so that a later change to them fails', () => {
      const snapshotsDir = tempDir();
      writeMissingSnapshots({ definitions: [published], snapshotsDir });
      const extended = fixture(z.object({ ...fields, channel: z.string().optional() }));
      expect(schemaGate({ definitions: [extended], snapshotsDir }).extended).toEqual([`${TYPE}@v1`]);
      expect(writeMissingSnapshots({ definitions: [extended], snapshotsDir })).toEqual([path.join(snapshotsDir, `${TYPE}@v1.json`)]);
      expect(schemaGate({ definitions: [extended], snapshotsDir }).extended).toEqual([]);
      const retyped = fixture(z.object({ ...fields, channel: z.number().optional() }));
      expect(schemaGate({ definitions: [retyped], snapshotsDir }).failures.map(failureText)).toEqual([expect.stringContaining('`channel` was string, now number')]);
    });
  });

  it('passes the contracts catalogue against its committed snapshots (contracts/schemas)', () => {
    const result = schemaGate({ definitions: allMessages, snapshotsDir: SNAPSHOTS_DIR });
    expect(result.failures.map(failureText)).toEqual([]);
    expect(result.extended).toEqual([]);
    expect(result.versions.length).toBe(snapshotsIn(SNAPSHOTS_DIR).length);
    for (const s of snapshotsIn(SNAPSHOTS_DIR)) {
      const text = fs.readFileSync(s.file, 'utf8');
      expect(stableJson(JSON.parse(text)), `${s.key} is stored as stable JSON`).toBe(text);
    }
  });
});

describe('compareSchemas', () => {
  const json = (schema: z.ZodType) => z.toJSONSchema(schema);
  const messages = (a: z.ZodType, b: z.ZodType) => compareSchemas(json(a), json(b)).map((i) => i.message);

  it('fails an enum that gained or lost a value', () => {
    const cause = (...values: [string, ...string[]]) => z.object({ cause: z.enum(values) });
    expect(messages(cause('received', 'adjusted'), cause('received', 'adjusted', 'restocked'))).toEqual(['`cause` enum now also allows "restocked"']);
    expect(messages(cause('received', 'adjusted'), cause('received'))).toEqual(['`cause` enum no longer allows "adjusted"']);
  });

  it('fails a changed pattern or format', () => {
    expect(messages(z.object({ sku: z.string().regex(/^[A-Z]+$/) }), z.object({ sku: z.string().regex(/^[A-Z0-9]+$/) }))).toEqual(['`sku` pattern was ^[A-Z]+$, now ^[A-Z0-9]+$']);
    expect(messages(z.object({ id: z.string() }), z.object({ id: z.uuid() }))).toEqual([expect.stringContaining('`id` now has format uuid'), expect.stringContaining('`id` now has pattern')]);
  });

  it('fails an object opened to any other field, or closed', () => {
    expect(messages(z.object({ a: z.string() }), z.looseObject({ a: z.string() }))).toEqual(['the message data additionalProperties was false, now {}']);
    expect(messages(z.looseObject({ a: z.string() }), z.object({ a: z.string() }))).toEqual(['the message data additionalProperties was {}, now false']);
  });

  it('compares alternatives by position', () => {
    const amount = (second: z.ZodType) => z.object({ amount: z.union([z.number().int(), second]) });
    expect(messages(amount(z.string()), amount(z.string()))).toEqual([]);
    expect(messages(amount(z.string()), amount(z.boolean()))).toEqual(['`amount.anyOf[1]` was string, now boolean']);
    expect(messages(amount(z.string()), z.object({ amount: z.number().int() }))).toEqual(['`amount` was integer | string, now integer']);
  });

  it('follows $ref, recursive ones included', () => {
    const tree = (node: () => z.ZodType) => z.object({ tree: z.lazy(node) });
    const Node: z.ZodType = z.lazy(() => z.object({ name: z.string(), size: z.number().int(), children: z.array(Node) }));
    const Smaller: z.ZodType = z.lazy(() => z.object({ name: z.string(), children: z.array(Smaller) }));
    expect(json(tree(() => Node))).toHaveProperty('$defs');
    expect(messages(tree(() => Node), tree(() => Node))).toEqual([]);
    expect(messages(tree(() => Node), tree(() => Smaller))).toEqual(['field `tree.size` removed']);
  });

  it('ignores annotations', () => {
    const withNotes = { $id: 'urn:x', title: 'x', description: 'y', examples: [{}], $schema: 'https://json-schema.org/draft/2020-12/schema' };
    expect(compareSchemas({ type: 'object' }, { type: 'object', ...withNotes })).toEqual([]);
  });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Fixture {
  pactsDir: string;
  resultsDir: string;
  /** Writes a pact file as Pact does; returns its content. */
  pact(consumer: string, provider: string, descriptions: string[], name?: string): string;
  /** Records `provider`'s verification of the pact files, as the provider pact specs do. */
  verify(provider: string, files: string[], outcome?: { verified: boolean; error?: string }): void;
}

function pactFixture(): Fixture {
  const root = tempDir();
  const pactsDir = path.join(root, 'pacts');
  const resultsDir = path.join(root, 'verifications');
  fs.mkdirSync(path.join(pactsDir, 'archive'), { recursive: true });
  fs.mkdirSync(resultsDir, { recursive: true });
  return {
    pactsDir,
    resultsDir,
    pact(consumer, provider, descriptions, name = `${consumer}-${provider}.json`) {
      const content = `${JSON.stringify(
        {
          consumer: { name: consumer },
          interactions: descriptions.map((description) => ({ contents: { content: {} }, description, pending: false, providerStates: [{ name: 'a state' }], type: 'Asynchronous/Messages' })),
          metadata: { pactSpecification: { version: '4.0' } },
          provider: { name: provider },
        },
        null,
        2,
      )}\n`;
      fs.writeFileSync(path.join(pactsDir, name), content);
      return content;
    },
    verify(provider, files, outcome = { verified: true }) {
      const records: VerificationRecord[] = files.map((name) => {
        const raw = fs.readFileSync(path.join(pactsDir, name), 'utf8');
        const pact = JSON.parse(raw) as { consumer: { name: string }; interactions: { description: string }[] };
        return {
          provider,
          providerVersion: '0.1.0',
          consumer: pact.consumer.name,
          pactFile: `contracts/pacts/${name}`,
          pactSha256: sha256(raw),
          interactions: pact.interactions.map((i) => i.description).sort(),
          at: new Date().toISOString(),
          ...outcome,
        };
      });
      const file = path.join(resultsDir, `${provider}.json`);
      const before = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as VerificationRecord[]) : [];
      fs.writeFileSync(file, JSON.stringify([...before, ...records], null, 2));
    },
  };
}

/** order.placed v2 and v1 (order-service → coordinator, analytics), order.authorize-payment (coordinator → order-service), and an alert nobody consumes. */
const catalogue = [OrderPlaced, AuthorizePayment, AlertRaised];
const PLACED = ['order.placed v2', 'order.placed v1'];

/** Every pair of `catalogue` with a pact, each verified by its producer. */
function completeFixture(): Fixture {
  const f = pactFixture();
  f.pact('coordinator-service', 'order-service', PLACED);
  f.pact('analytics-service', 'order-service', PLACED);
  f.pact('order-service', 'coordinator-service', ['order.authorize-payment v1']);
  f.verify('order-service', ['coordinator-service-order-service.json', 'analytics-service-order-service.json']);
  f.verify('coordinator-service', ['order-service-coordinator-service.json']);
  return f;
}

const coverage = (f: Fixture, definitions: readonly MessageDefinition[] = catalogue) => coverageGate({ definitions, pactsDir: f.pactsDir, resultsDir: f.resultsDir });
const coverageFailures = (f: Fixture) => coverage(f).failures.map(failureText);

describe('the coverage gate', () => {
  it('passes when every consumed message has a pact its producer verified, and reports messages nobody consumes', () => {
    const result = coverage(completeFixture());
    expect(result.failures).toEqual([]);
    expect(result).toMatchObject({ messages: 3, interactions: 5, verifiedInteractions: 5, uncovered: 0, unverified: 0, noConsumer: ['analytics.alert-raised v1'] });
    expect(result.pairs.map((p) => `${p.message} → ${p.consumer}: ${p.status}`)).toEqual([
      'order.placed v2 → coordinator-service: verified',
      'order.placed v2 → analytics-service: verified',
      'order.placed v1 → coordinator-service: verified',
      'order.placed v1 → analytics-service: verified',
      'order.authorize-payment v1 → order-service: verified',
    ]);
  });

  it('fails a consumed message without a pact', () => {
    const f = completeFixture();
    fs.rmSync(path.join(f.pactsDir, 'analytics-service-order-service.json'));
    expect(coverageFailures(f)).toEqual([
      expect.stringContaining('order.placed v2 → analytics-service: no consumer pact: analytics-service/test/contracts.consumer.pact.spec.ts must expect it'),
      expect.stringContaining('order.placed v1 → analytics-service: no consumer pact: analytics-service/test/contracts.consumer.pact.spec.ts must expect it'),
    ]);
    expect(coverage(f).uncovered).toBe(2);
  });

  it('fails a consumer that expects only the current version while an older one is still listed: it may still be produced', () => {
    const f = completeFixture();
    f.pact('coordinator-service', 'order-service', ['order.placed v2']);
    f.verify('order-service', ['coordinator-service-order-service.json']);
    expect(coverageFailures(f)).toEqual([
      'order.placed v1 → coordinator-service: no consumer pact: coordinator-service/test/contracts.consumer.pact.spec.ts must expect it ' +
        `(in ${path.join(f.pactsDir, 'coordinator-service-order-service.json')}): order.placed still lists v1, and a consumer supports every version still produced`,
    ]);
    expect(coverage(f).pairs.filter((p) => p.status === 'no pact').map((p) => `${p.message} → ${p.consumer}`)).toEqual(['order.placed v1 → coordinator-service']);
    // Once v1 is no longer listed (and no longer produced), v2 alone is enough.
    const v2Only = defineMessage({ ...OrderPlaced, previous: [] });
    expect(coverage(f, [v2Only, AuthorizePayment, AlertRaised]).failures.map(failureText)).toEqual([
      'analytics-service-order-service.json: interaction "order.placed v1": order.placed has no v1 (it lists v2)',
    ]);
  });

  it('fails a pact that lacks the interaction of a message its consumer consumes', () => {
    const f = completeFixture();
    f.pact('coordinator-service', 'order-service', []);
    f.verify('order-service', ['coordinator-service-order-service.json']);
    expect(coverageFailures(f)).toEqual([
      expect.stringContaining('order.placed v2 → coordinator-service: no consumer pact'),
      expect.stringContaining('order.placed v1 → coordinator-service: no consumer pact'),
    ]);
  });

  it('fails a pact with no verification record', () => {
    const f = pactFixture();
    f.pact('coordinator-service', 'order-service', ['order.placed v1']);
    expect(coverageFailures(f)).toContainEqual(expect.stringContaining('coordinator-service-order-service.json: order-service has not verified it: no verification record'));
  });

  it('fails a failed verification, with its reason', () => {
    const f = completeFixture();
    fs.rmSync(path.join(f.resultsDir, 'coordinator-service.json'));
    f.verify('coordinator-service', ['order-service-coordinator-service.json'], { verified: false, error: 'Expected "amount" to be an integer' });
    expect(coverageFailures(f)).toEqual(['order-service-coordinator-service.json: coordinator-service failed to verify it: Expected "amount" to be an integer']);
    expect(coverage(f).unverified).toBe(1);
  });

  it("says which interactions Pact's verifier failed, with their first mismatch", () => {
    const error = JSON.stringify({
      errors: [
        {
          interaction: 'Verifying a pact between analytics-service and order-service Given an order was placed - order.placed v1',
          mismatch: { mismatches: [{ mismatch: 'Actual map is missing the following keys: orderId' }, { mismatch: "Expected message metadata 'ce_type'" }] },
        },
      ],
    });
    expect(verificationError(error)).toBe('order.placed v1: Actual map is missing the following keys: orderId (and 1 more)');
    expect(verificationError(`timeout\n${'x'.repeat(10)}`)).toBe('timeout');
  });

  it('fails a verification of an older version of the pact (a stale sha-256)', () => {
    const f = completeFixture();
    f.pact('analytics-service', 'order-service', [...PLACED, 'order.placed v1']);
    expect(coverageFailures(f)).toEqual([expect.stringContaining('analytics-service-order-service.json: the verification by order-service')]);
    expect(coverageFailures(f)[0]).toContain('was of another version of the file');
  });

  it('fails an interaction for a message the catalogue does not have, or does not route to that consumer', () => {
    const f = completeFixture();
    f.pact('analytics-service', 'order-service', [...PLACED, 'order.exploded v1']);
    f.pact('inventory-service', 'order-service', ['order.placed v1']);
    f.pact('order-service', 'coordinator-service', ['order.authorize-payment v1', 'order.authorize-payment v2']);
    f.verify('order-service', ['analytics-service-order-service.json', 'inventory-service-order-service.json']);
    f.verify('coordinator-service', ['order-service-coordinator-service.json']);
    expect(coverageFailures(f)).toEqual([
      'analytics-service-order-service.json: interaction "order.exploded v1": the catalogue has no message order.exploded',
      'inventory-service-order-service.json: interaction "order.placed v1": the catalogue does not list inventory-service as a consumer of order.placed',
      'order-service-coordinator-service.json: interaction "order.authorize-payment v2": order.authorize-payment has no v2 (it lists v1)',
    ]);
  });

  it('reads archived pacts of older consumer versions into the matrix, and fails them unverified', () => {
    const f = completeFixture();
    const archived = 'archive/coordinator-service@0.0.9-order-service.json';
    f.pact('coordinator-service', 'order-service', ['order.placed v1'], archived);
    expect(coverageFailures(f)).toEqual([expect.stringContaining(`${archived}: order-service has not verified it`)]);

    f.verify('order-service', [archived]);
    const result = coverage(f);
    expect(result.failures).toEqual([]);
    const rows = matrix({ coverage: result, versions: serviceVersions(ROOT, ['order-service', 'coordinator-service', 'analytics-service']) });
    expect(rows).toContainEqual({ producer: 'order-service', producerVersion: '0.1.0', consumer: 'coordinator-service', consumerVersion: '0.0.9', message: 'order.placed v1', result: 'verified' });
  });
});

describe('the matrix', () => {
  it('has a row per producer version × consumer version × message, verified or not', () => {
    const f = completeFixture();
    fs.rmSync(path.join(f.pactsDir, 'order-service-coordinator-service.json'));
    const versions = serviceVersions(ROOT, ['order-service', 'coordinator-service', 'analytics-service']);
    expect(versions).toEqual({ 'order-service': expect.stringMatching(/^\d+\.\d+\.\d+/), 'coordinator-service': expect.any(String), 'analytics-service': expect.any(String) });
    const v = (s: string) => versions[s]!;
    expect(matrix({ coverage: coverage(f), versions })).toEqual([
      { producer: 'coordinator-service', producerVersion: v('coordinator-service'), consumer: 'order-service', consumerVersion: v('order-service'), message: 'order.authorize-payment v1', result: 'no pact' },
      { producer: 'order-service', producerVersion: '0.1.0', consumer: 'analytics-service', consumerVersion: v('analytics-service'), message: 'order.placed v1', result: 'verified' },
      { producer: 'order-service', producerVersion: '0.1.0', consumer: 'coordinator-service', consumerVersion: v('coordinator-service'), message: 'order.placed v1', result: 'verified' },
      { producer: 'order-service', producerVersion: '0.1.0', consumer: 'analytics-service', consumerVersion: v('analytics-service'), message: 'order.placed v2', result: 'verified' },
      { producer: 'order-service', producerVersion: '0.1.0', consumer: 'coordinator-service', consumerVersion: v('coordinator-service'), message: 'order.placed v2', result: 'verified' },
    ]);
  });
});

const run = promisify(execFile);

async function contractsCheck(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'infra/contracts/check-cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A pact, verified, for every (message, consumer) pair of the real catalogue. */
function catalogueFixture(): Fixture {
  const f = pactFixture();
  const byFile = new Map<string, { consumer: string; provider: string; descriptions: string[] }>();
  for (const d of allMessages) {
    for (const consumer of d.consumers) {
      const name = `${consumer}-${d.producer}.json`;
      const entry = byFile.get(name) ?? { consumer, provider: d.producer, descriptions: [] };
      entry.descriptions.push(...listedVersions(d).map((v) => `${d.type} v${v}`));
      byFile.set(name, entry);
    }
  }
  for (const [name, p] of byFile) {
    f.pact(p.consumer, p.provider, p.descriptions);
    f.verify(p.provider, [name]);
  }
  return f;
}

describe('npm run contracts:check --from-results', () => {
  const pairs = allMessages.reduce((n, d) => n + d.consumers.length * listedVersions(d).length, 0);

  it('exits 0 and prints the counts and the matrix when everything is covered and verified', async () => {
    const f = catalogueFixture();
    const out = await contractsCheck(['--from-results'], { CONTRACTS_PACTS_DIR: f.pactsDir, CONTRACTS_RESULTS_DIR: f.resultsDir });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`messages: ${allMessages.length}, consumed pairs: ${pairs}, pacts: `);
    expect(out.stdout).toContain(`interactions: ${pairs}, verified: ${pairs}, uncovered: 0, unverified: 0`);
    expect(out.stdout).toContain('no consumer: 2 (analytics.alert-raised v1, analytics.alert-resolved v1)');
    expect(out.stdout).toMatch(/Matrix \(producer × consumer × message\)\n\s+producer\s+consumer\s+message\s+result\n/);
    expect(out.stdout).toMatch(/order-service@\S+\s+coordinator-service@\S+\s+order\.placed v1\s+✓ verified/);
    expect(out.stdout.trimEnd().endsWith('OK')).toBe(true);
  });

  it('exits 1 and names every reason on a broken fixture', async () => {
    const f = catalogueFixture();
    f.pact('analytics-service', 'catalog-service', ['catalog.product-added v1', 'catalog.product-price-changed v1']);
    fs.rmSync(path.join(f.resultsDir, 'coordinator-service.json'));
    f.verify('coordinator-service', ['inventory-service-coordinator-service.json'], { verified: false, error: 'metadata ce_type mismatch' });
    const snapshotsDir = tempDir();
    fs.cpSync(SNAPSHOTS_DIR, snapshotsDir, { recursive: true });
    const placed = path.join(snapshotsDir, 'order.placed@v1.json');
    const snapshot = JSON.parse(fs.readFileSync(placed, 'utf8')) as { properties: Record<string, unknown>; required: string[] };
    snapshot.properties.channel = { type: 'string' };
    snapshot.required.push('channel');
    fs.writeFileSync(placed, stableJson(snapshot));

    const out = await contractsCheck(['--from-results'], { CONTRACTS_PACTS_DIR: f.pactsDir, CONTRACTS_RESULTS_DIR: f.resultsDir, CONTRACTS_SNAPSHOTS_DIR: snapshotsDir });
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('✗ order.placed@v1: field `channel` removed');
    expect(out.stdout).toContain('✗ analytics-service-catalog-service.json: the verification by catalog-service');
    expect(out.stdout).toContain('✗ catalog.product-discontinued v1 → analytics-service: no consumer pact');
    expect(out.stdout).toContain('✗ inventory-service-coordinator-service.json: coordinator-service failed to verify it: metadata ce_type mismatch');
    expect(out.stdout).toContain('✗ catalog-service-coordinator-service.json: coordinator-service has not verified it');
    expect(out.stdout).toMatch(/catalog-service@\S+\s+analytics-service@\S+\s+catalog\.product-discontinued v1\s+✗ no pact/);
    expect(out.stdout).toContain('uncovered: 1');
  });

  it('prints the report as JSON with --json', async () => {
    const f = catalogueFixture();
    fs.rmSync(path.join(f.resultsDir, 'order-service.json'));
    const out = await contractsCheck(['--from-results', '--json'], { CONTRACTS_PACTS_DIR: f.pactsDir, CONTRACTS_RESULTS_DIR: f.resultsDir });
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as { ok: boolean; counts: { uncovered: number; consumedPairs: number }; failures: { subject: string }[] };
    expect(report).toMatchObject({ ok: false, counts: { uncovered: 0, consumedPairs: pairs } });
    expect(report.failures.map((x) => x.subject)).toEqual(['analytics-service-order-service.json', 'coordinator-service-order-service.json']);
  });

  it('refuses the pact directory overrides without --from-results, as the pact specs write to the repository', async () => {
    const out = await contractsCheck([], { CONTRACTS_PACTS_DIR: tempDir() });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('apply with --from-results only');
  });
});
