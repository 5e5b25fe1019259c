/**
 * The deploy gate behind `npm run contracts:check`, without a broker: what
 * the repository and the last pact run hold is enough.
 *
 * - `schemaGate`: every published version of every message has a committed
 *   JSON Schema snapshot (contracts/schemas), still matches it or only adds
 *   optional fields to it, is still defined (consumers read every version
 *   produced or archived), and lifts one version up through an upcaster.
 * - `coverageGate`: every (message version, consumer) pair of the catalogue
 *   (each version a definition lists, current and `previous`: consumer
 *   support for every version still produced) has a consumer pact interaction, every pact was verified by its provider in
 *   its present form, and no pact expects a message the catalogue does not
 *   route to that consumer.
 * - `matrix`: producer version × consumer version × message, verified or not.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listedVersions, publishedJsonSchemas, type MessageDefinition } from '@shop/contracts';
import type { VerificationRecord } from '@shop/platform/testing/pacts';
import { compareSchemas } from './schema-compatibility';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SNAPSHOTS_DIR = path.join(ROOT, 'contracts/schemas');
/** Where the consumer pact specs write and the provider specs read (`PACTS_DIR` of the pact harness). */
export const PACTS_DIR = path.join(ROOT, 'contracts/pacts');
/** Where the provider pact specs record their verifications (`VERIFICATIONS_DIR` of the pact harness). */
export const RESULTS_DIR = path.join(ROOT, '.data/contracts/verifications');
/** Pacts of consumer versions still deployed, named `<consumer>@<version>-<provider>.json`. */
export const ARCHIVE = 'archive';

export interface GateFailure {
  /** What fails: `order.placed@v1`, `order.placed v1 → analytics-service`, a pact file name. */
  subject: string;
  message: string;
}

export const failureText = (f: GateFailure) => `${f.subject}: ${f.message}`;

/** A path relative to the repository when it is in it. */
export const shownPath = (file: string) => {
  const rel = path.relative(ROOT, file);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
const jsonFilesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []);

/** JSON with object keys sorted at every level, two-space indented, with a final newline: a snapshot diffs cleanly. */
export function stableJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sorted(value), null, 2)}\n`;
}

const SNAPSHOT_NAME = /^(.+)@v(\d+)\.json$/;
const snapshotFile = (snapshotsDir: string, key: string) => path.join(snapshotsDir, `${key}.json`);

/** The snapshot files in `snapshotsDir`: `<type>@v<version>.json`. */
export function snapshotsIn(snapshotsDir: string): { key: string; type: string; version: number; file: string }[] {
  return jsonFilesIn(snapshotsDir).flatMap((name) => {
    const m = SNAPSHOT_NAME.exec(name);
    return m ? [{ key: `${m[1]}@v${m[2]}`, type: m[1]!, version: Number(m[2]), file: path.join(snapshotsDir, name) }] : [];
  });
}

/**
 * Writes the snapshot of every published version that has none, and
 * records in its snapshot the optional fields a version gained since (a
 * compatible change), so that a later change to those fields is checked
 * too. A snapshot whose version changed incompatibly is never touched: that
 * change needs a new version, not a new snapshot. Returns the files written.
 */
export function writeMissingSnapshots({ definitions, snapshotsDir }: { definitions: readonly MessageDefinition[]; snapshotsDir: string }): string[] {
  fs.mkdirSync(snapshotsDir, { recursive: true });
  const written: string[] = [];
  for (const [key, schema] of Object.entries(publishedJsonSchemas(definitions))) {
    const file = snapshotFile(snapshotsDir, key);
    if (fs.existsSync(file)) {
      const published = readJson(file);
      if (stableJson(published) === stableJson(schema) || compareSchemas(published, schema).length > 0) continue;
      fs.writeFileSync(file, stableJson(schema));
    } else {
      fs.writeFileSync(file, stableJson(schema), { flag: 'wx' });
    }
    written.push(file);
  }
  return written;
}

export interface SchemaGateResult {
  /** Every published version the definitions list, `<type>@v<version>`. */
  versions: string[];
  snapshots: number;
  /** Versions whose schema differs from its snapshot by new optional fields or annotations only (allowed; the snapshot keeps what was published). */
  extended: string[];
  failures: GateFailure[];
}

export function schemaGate({ definitions, snapshotsDir }: { definitions: readonly MessageDefinition[]; snapshotsDir: string }): SchemaGateResult {
  const failures: GateFailure[] = [];
  const extended: string[] = [];
  const current = publishedJsonSchemas(definitions);
  const snapshots = snapshotsIn(snapshotsDir);
  const shownDir = shownPath(snapshotsDir);

  for (const [key, schema] of Object.entries(current)) {
    const file = snapshotFile(snapshotsDir, key);
    if (!fs.existsSync(file)) {
      failures.push({ subject: key, message: `no snapshot in ${shownDir}: a published version needs one (npm run contracts:check -- --update-snapshots writes it)` });
      continue;
    }
    const published = readJson(file);
    const incompatible = compareSchemas(published, schema);
    for (const i of incompatible) {
      failures.push({
        subject: key,
        message: `${i.message}: a published version may only gain optional fields; publish a new version with an upcaster from this one instead`,
      });
    }
    if (incompatible.length === 0 && stableJson(published) !== stableJson(schema)) extended.push(key);
  }

  for (const name of jsonFilesIn(snapshotsDir).filter((n) => !SNAPSHOT_NAME.test(n))) {
    failures.push({ subject: name, message: `is not named <type>@v<version>.json, so it is no snapshot of a published version` });
  }
  const byType = new Map(definitions.map((d) => [d.type, d]));
  for (const s of snapshots) {
    const d = byType.get(s.type);
    if (!d) {
      failures.push({ subject: s.key, message: `was published (${path.basename(s.file)}) but no message ${s.type} is defined: consumers must keep reading every version still produced or archived` });
    } else if (!listedVersions(d).includes(s.version)) {
      failures.push({
        subject: s.key,
        message: `was published (${path.basename(s.file)}) but ${s.type} no longer lists v${s.version}: keep it in \`previous\` with its upcaster, consumers must keep reading every version still produced or archived`,
      });
    }
  }

  for (const d of definitions) {
    const previous = d.previous ?? [];
    const seen = new Set<number>();
    for (const p of previous) {
      if (p.version >= d.version) failures.push({ subject: `${d.type}@v${p.version}`, message: `is listed in \`previous\` but is not older than the current v${d.version}` });
      if (seen.has(p.version)) failures.push({ subject: `${d.type}@v${p.version}`, message: 'is listed twice in `previous`' });
      seen.add(p.version);
    }
    // Every version down to the oldest one published or listed lifts one version up, as `readData` upcasts step by step.
    const oldest = Math.min(...listedVersions(d), ...snapshots.filter((s) => s.type === d.type).map((s) => s.version));
    for (let v = oldest; v < d.version; v++) {
      const step = previous.find((p) => p.version === v);
      if (typeof step?.upcast !== 'function') {
        failures.push({ subject: `${d.type}@v${v + 1}`, message: `has no upcaster from v${v}: list { version: ${v}, schema, upcast } in \`previous\`, so consumers still read v${v}` });
      }
    }
  }

  return { versions: Object.keys(current), snapshots: snapshots.length, extended, failures };
}

export type PactStatus = 'verified' | 'failed' | 'stale' | 'unverified';

export interface PactFile {
  /** The file name, relative to the pacts directory (`archive/<consumer>@<version>-<provider>.json` for an archived one). */
  name: string;
  consumer: string;
  provider: string;
  /** The consumer version of an archived pact; a current pact is the consumer's code as it is. */
  consumerVersion?: string;
  interactions: string[];
  /** Of those, the HTTP ones (a client of an API, e.g. the dashboard of analytics): verified like the rest, but no message of the catalogue. */
  http: string[];
  sha256: string;
  status: PactStatus;
  verification?: VerificationRecord;
}

export interface ConsumedPair {
  /** `<type> v<version>`, as the interaction is named. */
  message: string;
  producer: string;
  consumer: string;
  /** The current pact file holding the interaction, if any. */
  pact?: string;
  status: PactStatus | 'no pact';
}

export interface CoverageGateResult {
  messages: number;
  pairs: ConsumedPair[];
  /** Messages no service consumes (an alert a person reads): reported, not counted as uncovered. */
  noConsumer: string[];
  pacts: PactFile[];
  archived: PactFile[];
  interactions: number;
  verifiedInteractions: number;
  /** HTTP interactions (clients of an API), and of those the verified ones. */
  httpInteractions: number;
  verifiedHttpInteractions: number;
  uncovered: number;
  unverified: number;
  failures: GateFailure[];
}

interface PactJson {
  consumer?: { name?: unknown };
  provider?: { name?: unknown };
  interactions?: { description?: unknown; type?: unknown }[];
}

function readPact(dir: string, name: string, failures: GateFailure[]): Omit<PactFile, 'status'> | undefined {
  const raw = fs.readFileSync(path.join(dir, name), 'utf8');
  let pact: PactJson;
  try {
    pact = JSON.parse(raw) as PactJson;
  } catch (err) {
    failures.push({ subject: name, message: `is not JSON: ${(err as Error).message}` });
    return undefined;
  }
  const consumer = pact.consumer?.name;
  const provider = pact.provider?.name;
  if (typeof consumer !== 'string' || typeof provider !== 'string' || !Array.isArray(pact.interactions)) {
    failures.push({ subject: name, message: 'is not a pact file (no consumer, provider and interactions)' });
    return undefined;
  }
  return {
    name,
    consumer,
    provider,
    interactions: pact.interactions.map((i) => String(i.description)),
    http: pact.interactions.filter((i) => i.type === 'Synchronous/HTTP').map((i) => String(i.description)),
    sha256: sha256(raw),
  };
}

function readVerifications(resultsDir: string, failures: GateFailure[]): VerificationRecord[] {
  return jsonFilesIn(resultsDir).flatMap((name) => {
    try {
      const records = readJson(path.join(resultsDir, name));
      return (Array.isArray(records) ? records : [records]) as VerificationRecord[];
    } catch (err) {
      failures.push({ subject: `verifications/${name}`, message: `is not JSON: ${(err as Error).message}` });
      return [];
    }
  });
}

/** The record of `pact`'s verification: same provider, consumer and file; the one of its present content if there are several. */
function verificationOf(pact: Omit<PactFile, 'status'>, records: readonly VerificationRecord[]): VerificationRecord | undefined {
  const archived = pact.name.startsWith(`${ARCHIVE}/`);
  const candidates = records.filter((r) => {
    const parts = r.pactFile.split(/[\\/]/);
    return r.provider === pact.provider && r.consumer === pact.consumer && parts.at(-1) === path.basename(pact.name) && (parts.at(-2) === ARCHIVE) === archived;
  });
  return candidates.find((r) => r.pactSha256 === pact.sha256) ?? candidates.sort((a, b) => b.at.localeCompare(a.at))[0];
}

const INTERACTION = /^(\S+) v(\d+)$/;

interface PactVerifierError {
  errors?: { interaction?: string; mismatch?: { mismatches?: { mismatch?: string }[] } }[];
}

/**
 * A recorded verification error in a line: Pact's verifier reports a JSON
 * document (each failing interaction and its mismatches), which becomes
 * `<interaction>: <first mismatch>` per interaction; other errors are cut short.
 */
export function verificationError(error: string | undefined): string {
  if (!error) return 'no reason recorded';
  try {
    const parsed = JSON.parse(error) as PactVerifierError;
    const lines = (parsed.errors ?? []).map((e) => {
      const name = e.interaction?.split(' - ').at(-1) ?? 'an interaction';
      const mismatches = e.mismatch?.mismatches ?? [];
      const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} more)` : '';
      return `${name}: ${mismatches[0]?.mismatch ?? 'failed'}${more}`;
    });
    if (lines.length > 0) return lines.join('; ');
  } catch {
    // Not the verifier's JSON: the error as it is, below.
  }
  const line = error.split('\n').find((l) => l.trim() !== '') ?? error;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export function coverageGate({ definitions, pactsDir, resultsDir }: { definitions: readonly MessageDefinition[]; pactsDir: string; resultsDir: string }): CoverageGateResult {
  const failures: GateFailure[] = [];
  const records = readVerifications(resultsDir, failures);
  const byType = new Map(definitions.map((d) => [d.type, d]));

  const withStatus = (pact: Omit<PactFile, 'status'>): PactFile => {
    const verification = verificationOf(pact, records);
    const spec = `${pact.provider}/test/contracts.provider.pact.spec.ts`;
    let status: PactStatus;
    if (!verification) {
      status = 'unverified';
      failures.push({ subject: pact.name, message: `${pact.provider} has not verified it: no verification record (${spec} verifies it)` });
    } else if (verification.pactSha256 !== pact.sha256) {
      status = 'stale';
      failures.push({ subject: pact.name, message: `the verification by ${pact.provider} (${verification.at}) was of another version of the file: verify it again (${spec})` });
    } else if (!verification.verified) {
      status = 'failed';
      failures.push({ subject: pact.name, message: `${pact.provider} failed to verify it: ${verificationError(verification.error)}` });
    } else {
      status = 'verified';
    }
    for (const description of pact.interactions.filter((d) => !pact.http.includes(d))) {
      const problem = interactionProblem(description, pact, byType);
      if (problem) failures.push({ subject: pact.name, message: problem });
    }
    return { ...pact, status, ...(verification ? { verification } : {}) };
  };

  const pacts = jsonFilesIn(pactsDir).flatMap((name) => {
    const pact = readPact(pactsDir, name, failures);
    if (!pact) return [];
    if (name !== `${pact.consumer}-${pact.provider}.json`) failures.push({ subject: name, message: `holds the pact of ${pact.consumer} with ${pact.provider}, so should be named ${pact.consumer}-${pact.provider}.json` });
    return [withStatus(pact)];
  });

  const archiveDir = path.join(pactsDir, ARCHIVE);
  const archived = jsonFilesIn(archiveDir).flatMap((file) => {
    const name = `${ARCHIVE}/${file}`;
    const pact = readPact(pactsDir, name, failures);
    if (!pact) return [];
    const prefix = `${pact.consumer}@`;
    const suffix = `-${pact.provider}.json`;
    const consumerVersion = file.startsWith(prefix) && file.endsWith(suffix) ? file.slice(prefix.length, file.length - suffix.length) : '';
    if (consumerVersion === '') {
      failures.push({ subject: name, message: `an archived pact of ${pact.consumer} with ${pact.provider} is named ${pact.consumer}@<version>-${pact.provider}.json` });
      return [];
    }
    return [withStatus({ ...pact, consumerVersion })];
  });

  const pairs: ConsumedPair[] = [];
  const noConsumer: string[] = [];
  for (const d of definitions) {
    if (d.consumers.length === 0) noConsumer.push(`${d.type} v${d.version}`);
    // Every listed version, not only the current one: a producer may still publish an older one
    // (during a rolling deploy, by its configuration), and the analytics archive holds them all.
    for (const version of listedVersions(d)) {
      const message = `${d.type} v${version}`;
      for (const consumer of d.consumers) {
        const pact = pacts.find((p) => p.name === `${consumer}-${d.producer}.json` && p.consumer === consumer && p.provider === d.producer && p.interactions.includes(message));
        if (!pact) {
          const why = version === d.version ? '' : `: ${d.type} still lists v${version}, and a consumer supports every version still produced`;
          failures.push({
            subject: `${message} → ${consumer}`,
            message: `no consumer pact: ${consumer}/test/contracts.consumer.pact.spec.ts must expect it (in ${shownPath(path.join(pactsDir, `${consumer}-${d.producer}.json`))})${why}`,
          });
        }
        pairs.push({ message, producer: d.producer, consumer, ...(pact ? { pact: pact.name } : {}), status: pact?.status ?? 'no pact' });
      }
    }
  }

  return {
    messages: definitions.length,
    pairs,
    noConsumer,
    pacts,
    archived,
    interactions: pacts.reduce((n, p) => n + p.interactions.length - p.http.length, 0),
    verifiedInteractions: pacts.filter((p) => p.status === 'verified').reduce((n, p) => n + p.interactions.length - p.http.length, 0),
    httpInteractions: pacts.reduce((n, p) => n + p.http.length, 0),
    verifiedHttpInteractions: pacts.filter((p) => p.status === 'verified').reduce((n, p) => n + p.http.length, 0),
    uncovered: pairs.filter((p) => p.status === 'no pact').length,
    unverified: pairs.filter((p) => p.status !== 'no pact' && p.status !== 'verified').length,
    failures,
  };
}

/** Why an interaction of `pact` is not one the catalogue routes from its provider to its consumer, if it is not. */
function interactionProblem(description: string, pact: Pick<PactFile, 'consumer' | 'provider'>, byType: ReadonlyMap<string, MessageDefinition>): string | undefined {
  const m = INTERACTION.exec(description);
  if (!m) return `interaction "${description}" is not named <type> v<version>`;
  const [, type, version] = m;
  const d = byType.get(type!);
  if (!d) return `interaction "${description}": the catalogue has no message ${type}`;
  if (d.producer !== pact.provider) return `interaction "${description}": ${type} is produced by ${d.producer}, not ${pact.provider}`;
  if (!(d.consumers as readonly string[]).includes(pact.consumer)) return `interaction "${description}": the catalogue does not list ${pact.consumer} as a consumer of ${type}`;
  if (!listedVersions(d).includes(Number(version))) return `interaction "${description}": ${type} has no v${version} (it lists ${listedVersions(d).map((v) => `v${v}`).join(', ')})`;
  return undefined;
}

export interface MatrixRow {
  producer: string;
  producerVersion: string;
  consumer: string;
  consumerVersion: string;
  message: string;
  result: PactStatus | 'no pact';
}

/** Each service's version, from `<root>/<service>/package.json` ('?' when it has none). */
/** Clients that ship inside a service, and so have its version: the dashboard is served by analytics. */
const SHIPPED_IN: Readonly<Record<string, string>> = { 'analytics-dashboard': 'analytics-service' };

export function serviceVersions(rootDir: string, services: Iterable<string>): Record<string, string> {
  return Object.fromEntries(
    [...new Set(services)].map((s) => {
      const file = path.join(rootDir, SHIPPED_IN[s] ?? s, 'package.json');
      const version = fs.existsSync(file) ? (readJson(file) as { version?: string }).version : undefined;
      return [s, version ?? '?'];
    }),
  );
}

/**
 * Producer version × consumer version × message: each interaction of each
 * pact (current ones at the consumer's present version, archived ones at
 * theirs) with its verification, and each consumed pair without a pact.
 * The producer version is the one its verification recorded.
 */
export function matrix({ coverage, versions }: { coverage: CoverageGateResult; versions: Readonly<Record<string, string>> }): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const pact of [...coverage.pacts, ...coverage.archived]) {
    for (const message of pact.interactions) {
      rows.push({
        producer: pact.provider,
        producerVersion: pact.verification?.providerVersion ?? versions[pact.provider] ?? '?',
        consumer: pact.consumer,
        consumerVersion: pact.consumerVersion ?? versions[pact.consumer] ?? '?',
        message,
        result: pact.status,
      });
    }
  }
  for (const pair of coverage.pairs.filter((p) => p.status === 'no pact')) {
    rows.push({
      producer: pair.producer,
      producerVersion: versions[pair.producer] ?? '?',
      consumer: pair.consumer,
      consumerVersion: versions[pair.consumer] ?? '?',
      message: pair.message,
      result: 'no pact',
    });
  }
  const order = (r: MatrixRow) => [r.producer, r.producerVersion, r.message, r.consumer, r.consumerVersion];
  const compare = (a: MatrixRow, b: MatrixRow) => {
    const [x, y] = [order(a), order(b)];
    const i = x.findIndex((v, j) => v !== y[j]);
    return i < 0 ? 0 : x[i]! < y[i]! ? -1 : 1;
  };
  return rows.sort(compare);
}

export function formatMatrix(rows: readonly MatrixRow[]): string {
  const table = [
    ['producer', 'consumer', 'message', 'result'],
    ...rows.map((r) => [`${r.producer}@${r.producerVersion}`, `${r.consumer}@${r.consumerVersion}`, r.message, r.result === 'verified' ? '✓ verified' : `✗ ${r.result}`]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export interface ContractsReport {
  ok: boolean;
  counts: {
    messages: number;
    publishedVersions: number;
    snapshots: number;
    consumedPairs: number;
    pacts: number;
    archivedPacts: number;
    interactions: number;
    verified: number;
    httpInteractions: number;
    httpVerified: number;
    uncovered: number;
    unverified: number;
    noConsumer: number;
  };
  noConsumer: string[];
  extended: string[];
  matrix: MatrixRow[];
  failures: GateFailure[];
}

export function checkContracts(o: { definitions: readonly MessageDefinition[]; snapshotsDir: string; pactsDir: string; resultsDir: string; rootDir?: string }): ContractsReport {
  const schemas = schemaGate(o);
  const coverage = coverageGate(o);
  const services = [...o.definitions.flatMap((d) => [d.producer, ...d.consumers]), ...coverage.pacts.map((p) => p.consumer)];
  const rows = matrix({ coverage, versions: serviceVersions(o.rootDir ?? ROOT, services) });
  const failures = [...schemas.failures, ...coverage.failures];
  return {
    ok: failures.length === 0,
    counts: {
      messages: coverage.messages,
      publishedVersions: schemas.versions.length,
      snapshots: schemas.snapshots,
      consumedPairs: coverage.pairs.length,
      pacts: coverage.pacts.length,
      archivedPacts: coverage.archived.length,
      interactions: coverage.interactions,
      verified: coverage.verifiedInteractions,
      httpInteractions: coverage.httpInteractions,
      httpVerified: coverage.verifiedHttpInteractions,
      uncovered: coverage.uncovered,
      unverified: coverage.unverified,
      noConsumer: coverage.noConsumer.length,
    },
    noConsumer: coverage.noConsumer,
    extended: schemas.extended,
    matrix: rows,
    failures,
  };
}
