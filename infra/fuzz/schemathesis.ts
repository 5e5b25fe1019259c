import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One schemathesis run (`st run`) against one service's OpenAPI document,
 * with one bearer token, and what it counted. The test
 * (infra/test/http-fuzz.int.spec.ts) and `npm run fuzz` both run it; the
 * `st` program comes from `ensureSchemathesis` (infra/deploy-check/tools.ts).
 */

/** The checks every run makes (schemathesis's names; `st explain <code>` tells more of a failure). */
export const FUZZ_CHECKS = ['not_a_server_error', 'status_code_conformance', 'response_schema_conformance', 'negative_data_rejection', 'ignored_auth'] as const;

/** The settings the CI test runs with: small enough for about 3 minutes on 2 cores, the same cases every run. */
export const CI_FUZZ_SETTINGS = { maxExamples: 15, seed: 20_260_520 } as const;

/** The schemathesis configuration both use (the statuses `negative_data_rejection` takes as a rejection). */
export const SCHEMATHESIS_CONFIG = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schemathesis.toml');

export interface FuzzTarget {
  service: string;
  /** Where the service serves its document, e.g. `http://127.0.0.1:4003/v1/openapi.json`. */
  openapiUrl: string;
  /** The base the document's paths (`/v1/...`) are relative to: the service's origin, or its gateway prefix. */
  baseUrl: string;
  /** Which token the run carries, for the report (`admin`, `customer`). */
  tokenName: string;
  token: string;
}

export interface FuzzOptions {
  /** The `st` program. */
  st: string;
  /** Test cases per operation and phase (`--max-examples`). */
  maxExamples: number;
  /** Hypothesis's seed (`--seed`): the same seed, pins and document give the same cases. */
  seed: number;
  /** Where the reports (JSON, JUnit) go; also the run's working directory. */
  reportDir: string;
  /** Concurrent workers (1: see docs/guarantees.md, "HTTP fuzzing"). */
  workers?: number;
}

export interface FuzzResult {
  service: string;
  token: string;
  /** Operations of the document that were tested. */
  operations: number;
  /** Test cases generated and sent, over every phase (examples, coverage, fuzzing, stateful). */
  cases: number;
  /** Distinct failures the checks found. */
  failures: number;
  /** Operations schemathesis could not test (its own errors, or a document it cannot read). */
  errors: number;
  seconds: number;
  /** What failed, as schemathesis prints it (each with a curl line to reproduce it); empty when nothing did. */
  details: string;
  /** Every file the run wrote (reports), for a look after a failure. */
  reportDir: string;
}

interface JsonReport {
  operations: { tested: number; errored: number };
  test_cases: { generated: number; unique_failures: number; errored: number };
  errors: unknown[];
}

/** The `st run` arguments for one target (without the program). */
export function schemathesisArguments(target: FuzzTarget, options: Omit<FuzzOptions, 'st'>): string[] {
  return [
    '--config-file',
    SCHEMATHESIS_CONFIG,
    '--no-color',
    'run',
    target.openapiUrl,
    '--url',
    target.baseUrl,
    '--checks',
    FUZZ_CHECKS.join(','),
    '--header',
    `Authorization: Bearer ${target.token}`,
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--max-examples',
    String(options.maxExamples),
    '--seed',
    String(options.seed),
    '--workers',
    String(options.workers ?? 1),
    // No example database: a run depends on its seed only, not on what earlier runs found.
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--report',
    'json,junit',
    '--report-dir',
    options.reportDir,
  ];
}

/** Runs schemathesis against one target; resolves with its counts whatever it found (a failure is data, not an exception). */
export async function runSchemathesis(target: FuzzTarget, options: FuzzOptions): Promise<FuzzResult> {
  await fs.rm(options.reportDir, { recursive: true, force: true });
  await fs.mkdir(options.reportDir, { recursive: true });
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      options.st,
      schemathesisArguments(target, options),
      // Its working directory is the report's: nothing lands in the checkout.
      { cwd: options.reportDir, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', COLUMNS: '160' } },
      (err, out, errOut) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: out, stderr: errOut }),
    );
  });
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  await fs.writeFile(path.join(options.reportDir, 'st-output.txt'), `${stdout}\n${stderr}`);
  const reportFile = (await fs.readdir(options.reportDir)).find((f) => f.startsWith('json-') && f.endsWith('.json'));
  if (!reportFile) {
    throw new Error(`schemathesis wrote no report for ${target.service} (exit ${code}): ${tail(`${stdout}\n${stderr}`, 20)}`);
  }
  const report = JSON.parse(await fs.readFile(path.join(options.reportDir, reportFile), 'utf8')) as JsonReport;
  const failures = report.test_cases.unique_failures;
  const errors = report.operations.errored + report.errors.length;
  return {
    service: target.service,
    token: target.tokenName,
    operations: report.operations.tested,
    cases: report.test_cases.generated,
    failures,
    errors,
    seconds,
    details: failures + errors > 0 || code !== 0 ? problemSections(stdout) || tail(`${stdout}\n${stderr}`, 40) : '',
    reportDir: options.reportDir,
  };
}

/** The FAILURES and ERRORS sections of schemathesis's output, long lines cut (a traceback's source dump can be megabytes). */
function problemSections(stdout: string): string {
  const lines = stdout.split('\n').map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line));
  const start = lines.findIndex((line) => /=+ (FAILURES|ERRORS) =+/.test(line));
  if (start === -1) return '';
  const end = lines.findIndex((line, i) => i > start && /=+ (WARNINGS|SUMMARY) =+/.test(line));
  return lines.slice(start, end === -1 ? undefined : end).filter((line) => line.trim() !== '').join('\n');
}

function tail(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).map((line) => line.slice(0, 400)).join('\n');
}

/** The one JSON line printed per service and token. */
export function fuzzLine(result: FuzzResult): string {
  const { service, token, operations, cases, failures, errors, seconds } = result;
  return JSON.stringify({ fuzz: { service, token, operations, cases, failures, errors, seconds } });
}
