import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildConfig, ChildResult } from './runtime/result';

/**
 * Runs a k6 script ONCE — setup(), one iteration of each scenario's exec
 * function, teardown(), handleSummary() — in a child Node process whose
 * `k6*` imports resolve to this harness's shims, so CI can prove that a
 * scenario's URLs, bodies, tokens and checks work against a real server
 * without k6. Not a load tool: one VU, one iteration, no pacing; threshold
 * expressions are checked for syntax and consistency, never evaluated
 * against the figures of the one iteration.
 */

export interface RunOnceOptions {
  /** The script's `__ENV` (k6's `-e KEY=VALUE`); nothing else from the environment unless given here. */
  env?: Record<string, string>;
  /** The working directory: relative handleSummary() paths are written there. Defaults to the current directory. */
  reportDir?: string;
  /** Kill the run after this long (default 120 s). */
  timeoutMs?: number;
  /** Also fail when a request counts as failed for http_req_failed (status ≥ 400 or 0 unless expectedStatuses says otherwise). */
  strictHttp?: boolean;
}

export interface RunResult extends ChildResult {
  file: string;
  /** The script's console output and the child's own (stdout and stderr, interleaved). */
  output: string;
  durationMs: number;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'runtime', 'child.ts');
const REGISTER = pathToFileURL(path.join(HERE, 'runtime', 'register.ts')).href;
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const DEFAULT_TIMEOUT_MS = 120_000;

const failed = (file: string, reason: string, output: string, started: number): RunResult => ({
  file,
  ok: false,
  reasons: [reason],
  warnings: [],
  scenarios: [],
  checks: [],
  requests: [],
  thresholds: [],
  summaryFiles: [],
  summaryStdout: '',
  output,
  durationMs: Date.now() - started,
});

export async function runScenarioOnce(file: string, options: RunOnceOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const script = path.resolve(file);
  if (!fs.existsSync(script)) return failed(script, `no such script: ${script}`, '', started);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-once-'));
  const config: ChildConfig = { env: options.env ?? {}, resultFile: path.join(tmp, 'result.json'), strictHttp: options.strictHttp ?? false };
  const cwd = path.resolve(options.reportDir ?? process.cwd());
  fs.mkdirSync(cwd, { recursive: true });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, '--import', REGISTER, CHILD, script, JSON.stringify(config)], {
      cwd,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    clearTimeout(timer);
    if (timedOut) return failed(script, `the run took longer than ${timeoutMs} ms and was killed`, output, started);
    if (!fs.existsSync(config.resultFile)) {
      return failed(script, `the harness process exited with code ${code} without a result: ${output.trim().split('\n').slice(-15).join('\n')}`, output, started);
    }
    const result = JSON.parse(fs.readFileSync(config.resultFile, 'utf8')) as ChildResult;
    return { file: script, ...result, output, durationMs: Date.now() - started };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
