/**
 * npm run contracts:check [-- --from-results] [--update-snapshots] [--json]
 *
 * The message contracts' deploy gate, without a broker (contracts-gate.ts):
 * runs the consumer pact specs (they write contracts/pacts), then the
 * provider pact specs (they verify those pacts and record the results in
 * .data/contracts/verifications), then checks the schema snapshots, the
 * coverage of the catalogue by pacts and their verifications, and prints the
 * producer × consumer × message matrix.
 *
 *   --from-results      check the pacts and verifications a test run already wrote (`npm test`), without running the specs
 *   --update-snapshots  first write the snapshot of every published version that has none, and record the optional fields a version gained (never rewrites one that changed incompatibly)
 *   --json              print the report as JSON on stdout (the spec runs print to stderr)
 *
 * CONTRACTS_SNAPSHOTS_DIR, CONTRACTS_PACTS_DIR and CONTRACTS_RESULTS_DIR point
 * the gates at other directories; the last two only with --from-results, as
 * the pact specs always write to the repository's.
 *
 * Exits 1, listing every failure, when anything fails.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { allMessages } from '@shop/contracts';
import { PACTS_DIR, RESULTS_DIR, ROOT, SNAPSHOTS_DIR, checkContracts, failureText, formatMatrix, shownPath as shown, writeMissingSnapshots, type ContractsReport, type GateFailure } from './contracts-gate';

const { values } = parseArgs({
  options: {
    'from-results': { type: 'boolean', default: false },
    'update-snapshots': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

/** Consumer pact specs: `<service>/test/*.consumer.pact.spec.ts` (message pacts, and the dashboard's HTTP pact with analytics). */
const CONSUMER_SPEC = 'test/*.consumer.pact.spec.ts';
/** With --json, stdout carries the report alone. */
const say = (text: string) => (values.json ? process.stderr : process.stdout).write(`${text}\n`);

function main(): number {
  const env = process.env;
  if (!values['from-results'] && (env.CONTRACTS_PACTS_DIR || env.CONTRACTS_RESULTS_DIR)) {
    process.stderr.write('CONTRACTS_PACTS_DIR and CONTRACTS_RESULTS_DIR apply with --from-results only: the pact specs write to contracts/pacts and .data/contracts/verifications\n');
    return 2;
  }
  const snapshotsDir = path.resolve(env.CONTRACTS_SNAPSHOTS_DIR || SNAPSHOTS_DIR);
  const pactsDir = path.resolve(env.CONTRACTS_PACTS_DIR || PACTS_DIR);
  const resultsDir = path.resolve(env.CONTRACTS_RESULTS_DIR || RESULTS_DIR);
  const runFailures: GateFailure[] = [];

  if (values['update-snapshots']) {
    const written = writeMissingSnapshots({ definitions: allMessages, snapshotsDir });
    say(written.length === 0 ? `Every published version has a snapshot in ${shown(snapshotsDir)}.` : `Wrote ${written.length} snapshot(s):\n${written.map((f) => `  ${shown(f)}`).join('\n')}`);
  }

  if (!values['from-results']) runFailures.push(...runPactSpecs(pactsDir, resultsDir));

  const report = checkContracts({ definitions: allMessages, snapshotsDir, pactsDir, resultsDir });
  const failures = [...runFailures, ...report.failures];
  const result: ContractsReport = { ...report, ok: failures.length === 0, failures };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(formatReport(result, { snapshotsDir, pactsDir, resultsDir }));
  return result.ok ? 0 : 1;
}

/**
 * A fresh pact run, as CI has it: the last run's pacts and results go first,
 * so a pact whose consumer test is gone, or a result whose provider test is
 * gone, cannot pass the gate. Archived pacts stay.
 */
function runPactSpecs(pactsDir: string, resultsDir: string): GateFailure[] {
  for (const dir of [pactsDir, resultsDir]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) fs.rmSync(path.join(dir, f));
  }
  const specs = fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .flatMap((e) => {
      const dir = path.join(ROOT, e.name, 'test');
      return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.consumer.pact.spec.ts')).map((f) => `${e.name}/test/${f}`) : [];
    })
    .sort();
  if (specs.length === 0) return [{ subject: 'consumer pact specs', message: `none found (<service>/${CONSUMER_SPEC})` }];
  const runs = [
    { subject: 'consumer pact specs', args: ['vitest', 'run', '--project', 'services', ...specs], what: `the ${specs.length} consumer pact specs` },
    { subject: 'provider pact specs', args: ['vitest', 'run', '--project', 'pact-providers'], what: 'the provider pact specs (project pact-providers)' },
  ];
  const failures: GateFailure[] = [];
  for (const run of runs) {
    say(`\n$ npx ${run.args.join(' ')}`);
    // The providers run even when a consumer failed: the report then names every pact that is missing or failing.
    const done = spawnSync('npx', run.args, { cwd: ROOT, stdio: ['inherit', values.json ? 2 : 'inherit', 'inherit'] });
    if (done.error) failures.push({ subject: run.subject, message: `${run.what} did not run: ${done.error.message}` });
    else if (done.status !== 0) failures.push({ subject: run.subject, message: `${run.what} failed (${done.status === null ? `signal ${done.signal}` : `exit ${done.status}`}; their output is above)` });
  }
  return failures;
}

function formatReport(r: ContractsReport, dirs: { snapshotsDir: string; pactsDir: string; resultsDir: string }): string {
  const c = r.counts;
  const lines = [
    '',
    'Message contracts',
    `  schemas (${shown(dirs.snapshotsDir)}): ${c.publishedVersions} published versions, ${c.snapshots} snapshots`,
    ...r.extended.map((key) => `    ${key} differs from its snapshot by new optional fields or annotations only (allowed; record them with --update-snapshots, so a later change to them is checked)`),
    `  pacts (${shown(dirs.pactsDir)}, verifications in ${shown(dirs.resultsDir)}): ${c.pacts} pacts${c.archivedPacts > 0 ? ` and ${c.archivedPacts} archived` : ''}`,
    `  messages: ${c.messages}, consumed pairs: ${c.consumedPairs}, pacts: ${c.pacts}, interactions: ${c.interactions}, verified: ${c.verified}, uncovered: ${c.uncovered}, unverified: ${c.unverified}`,
    `  HTTP: ${c.httpInteractions} interactions, ${c.httpVerified} verified`,
    `  no consumer: ${c.noConsumer}${r.noConsumer.length > 0 ? ` (${r.noConsumer.join(', ')})` : ''}`,
    '',
    'Matrix (producer × consumer × message)',
    ...formatMatrix(r.matrix)
      .split('\n')
      .map((line) => `  ${line}`),
    '',
    r.ok ? 'OK' : `FAILED (${r.failures.length} failure${r.failures.length === 1 ? '' : 's'})`,
    ...r.failures.map((f) => `  ✗ ${failureText(f)}`),
  ];
  return `${lines.join('\n')}\n`;
}

try {
  process.exit(main());
} catch (err) {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
}
