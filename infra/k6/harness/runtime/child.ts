import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkThresholds, planScenarios, type ThresholdSpec } from './options';
import type { ChildConfig, ChildResult } from './result';
import { type CheckNode, type GroupNode, state } from './state';
import { buildSummary } from './summary';
import { startHttpWorker, stopHttpWorker } from './sync-http';

/**
 * The child process that runs one k6 script once: init (module evaluation,
 * the k6 imports resolved to the shims by resolve-hooks.ts), the option
 * checks, setup(), one call of each scenario's exec function in declaration
 * order, teardown(), handleSummary(). Started by run-once.ts as
 * `node --import tsx --import ./register.ts child.ts <script> <config JSON>`.
 */

const [scriptArg, configArg] = process.argv.slice(2);
if (!scriptArg || !configArg) {
  console.error('usage: child.ts <script.ts> <config JSON>');
  process.exit(2);
}
const config = JSON.parse(configArg) as ChildConfig;
const script = path.resolve(scriptArg);
const reasons: string[] = [];
const scenarioResults: ChildResult['scenarios'] = [];
let thresholdSpecs: ThresholdSpec[] = [];
const summaryFiles: string[] = [];
let summaryStdout = '';

type Globals = { __ENV: Record<string, string>; __VU: number; __ITER: number; open: (file: string, mode?: string) => string | ArrayBuffer };
const globals = globalThis as unknown as Globals;

function explain(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const frames = (err.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((l) => !l.includes('/infra/k6/harness/runtime/') && !l.includes('/infra/k6/harness/shim/') && !l.includes('node:internal') && !l.includes('/node_modules/'))
    .slice(0, 4)
    .map((l) => l.trim());
  const label = err.name === 'K6Fail' ? 'fail() called' : err.name === 'TestAbort' ? 'exec.test.abort()' : err.name;
  return `${label}: ${err.message}${frames.length ? ` (${frames.join(' ← ')})` : ''}`;
}

/** k6 passes setup data to each VU and to teardown as JSON. */
function jsonCopy(data: unknown, what: string): unknown {
  if (data === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(data)) as unknown;
  } catch (err) {
    throw new Error(`${what} must be JSON-serialisable (k6 passes it as JSON): ${(err as Error).message}`, { cause: err });
  }
}

globals.__ENV = { ...config.env };
globals.__VU = 0;
globals.__ITER = 0;
globals.open = (file: string, mode?: string) => {
  if (state.phase !== 'init') throw new Error('open() can only be called from the init context');
  const bytes = fs.readFileSync(path.resolve(state.scriptDir, file));
  return mode === 'b' ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes.toString('utf8');
};
state.scriptDir = path.dirname(script);

process.on('unhandledRejection', (err) => reasons.push(`unhandled promise rejection: ${explain(err)}`));

async function main(): Promise<void> {
  await startHttpWorker();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(script).href)) as Record<string, unknown>;
  } catch (err) {
    reasons.push(`init context: ${explain(err)}`);
    return;
  }

  const rawOptions = mod.options ?? {};
  if (rawOptions === null || typeof rawOptions !== 'object' || Array.isArray(rawOptions)) {
    reasons.push('the exported options must be an object');
    return;
  }
  // k6 reads the options as JSON (functions and undefined drop out).
  state.options = jsonCopy(rawOptions, 'options') as Record<string, unknown>;
  const thresholdCheck = checkThresholds(state.options.thresholds, state.metrics);
  thresholdSpecs = thresholdCheck.specs;
  const { plans, errors } = planScenarios(state.options, mod);
  reasons.push(...thresholdCheck.errors, ...errors);
  for (const name of ['setup', 'teardown', 'handleSummary'] as const) {
    if (mod[name] !== undefined && typeof mod[name] !== 'function') reasons.push(`the exported ${name} must be a function`);
  }
  if (reasons.length > 0) return; // k6 refuses to start with these.

  let setupData: unknown;
  let setupOk = true;
  if (typeof mod.setup === 'function') {
    state.phase = 'setup';
    state.enterRootGroup('setup');
    try {
      setupData = jsonCopy(await (mod.setup as () => unknown)(), 'the data setup() returns');
    } catch (err) {
      setupOk = false;
      reasons.push(`setup() threw: ${explain(err)}`);
    }
    state.resetGroups();
  }

  if (setupOk) {
    let aborted = false;
    for (const [i, plan] of plans.entries()) {
      if (aborted) break;
      state.phase = 'vu';
      state.scenario = { name: plan.name, executor: plan.executor, exec: plan.exec, startTime: Date.now(), tags: plan.tags, vuId: i + 1 };
      state.vuTags = {};
      globals.__ENV = { ...config.env, ...plan.env };
      globals.__VU = i + 1;
      globals.__ITER = 0;
      state.addSample('vus', 1);
      state.addSample('vus_max', plans.length);
      const started = performance.now();
      const entry: ChildResult['scenarios'][number] = { name: plan.name, executor: plan.executor, exec: plan.exec, ok: true };
      try {
        await (mod[plan.exec] as (data: unknown) => unknown)(jsonCopy(setupData, 'setup data'));
        state.iterationsCompleted++;
      } catch (err) {
        entry.ok = false;
        entry.error = explain(err);
        aborted = err instanceof Error && err.name === 'TestAbort';
        reasons.push(`scenario '${plan.name}' (${plan.exec}) threw: ${entry.error}`);
        state.iterationsInterrupted++;
      }
      state.resetGroups();
      state.addSample('iterations', 1);
      state.addSample('iteration_duration', performance.now() - started);
      state.scenario = null;
      scenarioResults.push(entry);
    }
    globals.__ENV = { ...config.env };
    globals.__VU = 0;

    if (typeof mod.teardown === 'function') {
      state.phase = 'teardown';
      state.enterRootGroup('teardown');
      try {
        await (mod.teardown as (data: unknown) => unknown)(jsonCopy(setupData, 'setup data'));
      } catch (err) {
        reasons.push(`teardown() threw: ${explain(err)}`);
      }
      state.resetGroups();
    }
  }

  if (typeof mod.handleSummary === 'function') {
    state.phase = 'summary';
    try {
      const out = await (mod.handleSummary as (data: unknown) => unknown)(buildSummary(state, thresholdSpecs, setupData));
      writeSummary(out);
    } catch (err) {
      reasons.push(`handleSummary() threw: ${explain(err)}`);
    }
  }
}

/** k6's handleSummary contract: an object of 'stdout' | 'stderr' | file path → string or ArrayBuffer content. */
function writeSummary(out: unknown): void {
  if (out === undefined || out === null) return;
  if (typeof out !== 'object' || Array.isArray(out)) {
    reasons.push('handleSummary() must return an object of output name → content');
    return;
  }
  for (const [name, content] of Object.entries(out)) {
    let data: string | Uint8Array;
    if (typeof content === 'string') data = content;
    else if (content instanceof ArrayBuffer) data = new Uint8Array(content);
    else if (ArrayBuffer.isView(content)) data = new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
    else {
      reasons.push(`handleSummary() output '${name}' must be a string or an ArrayBuffer, not ${typeof content}`);
      continue;
    }
    if (name === 'stdout') {
      summaryStdout += typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
      process.stdout.write(data);
    } else if (name === 'stderr') process.stderr.write(data);
    else {
      const file = path.resolve(process.cwd(), name);
      try {
        fs.writeFileSync(file, data);
        summaryFiles.push(file);
      } catch (err) {
        reasons.push(`handleSummary(): could not write '${name}': ${(err as Error).message}`);
      }
    }
  }
}

const flatChecks = (g: GroupNode): CheckNode[] => [...g.checks, ...g.groups.flatMap(flatChecks)];

try {
  await main();
} catch (err) {
  reasons.push(`harness: ${explain(err)}`);
}
reasons.push(...state.failures);
const failedRequests = state.requests.filter((r) => r.expected === false);
for (const r of failedRequests) {
  const message = `${r.method} ${r.url} → ${r.status}${r.error ? ` (${r.error})` : ''} counts as failed in http_req_failed`;
  if (config.strictHttp) reasons.push(message);
  else state.warn(message);
}
const result: ChildResult = {
  ok: reasons.length === 0,
  reasons,
  warnings: state.warnings,
  scenarios: scenarioResults,
  checks: flatChecks(state.rootGroup).map(({ name, path: p, passes, fails }) => ({ name, path: p, passes, fails })),
  requests: state.requests,
  thresholds: thresholdSpecs,
  summaryFiles,
  summaryStdout,
};
fs.writeFileSync(config.resultFile, JSON.stringify(result));
await stopHttpWorker();
process.exit(0);
