import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunResult, runScenarioOnce } from '../k6/harness/run-once';

/**
 * The k6 scenarios' CI gate without k6: (1) infra/k6/tsconfig.json type-checks
 * k6 scripts against @types/k6 and rejects a wrong option or a misused k6 API;
 * (2) the one-iteration harness (infra/k6/harness) runs a script's setup, each
 * scenario once, teardown and handleSummary against a real HTTP server, and
 * fails on a failed check, an exception, a malformed threshold or a missing
 * exec function — with synchronous HTTP and sleep, as in k6.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const K6_DIR = path.join(REPO, 'infra/k6');
const HARNESS = path.join(K6_DIR, 'harness');
const fixture = (name: string) => path.join(HARNESS, 'fixtures', name);

function parseConfig(file: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(REPO, file), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${file}`);
  return parsed;
}

describe('k6 type-check (infra/k6/tsconfig.json)', () => {
  const k6Config = parseConfig('infra/k6/tsconfig.json');
  /** `tsc` with the k6 project's compiler options on one file (plus the k6 runtime globals it declares). */
  const diagnose = (file: string) => {
    const program = ts.createProgram({ rootNames: [file, path.join(HARNESS, 'k6-types/k6-runtime-globals.d.ts')], options: k6Config.options });
    return ts.getPreEmitDiagnostics(program).map((d) => ({
      file: d.file ? path.relative(REPO, d.file.fileName) : '',
      line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
      code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
    }));
  };

  it('uses the k6 types only, at k6 runtime level, strict', () => {
    expect(k6Config.errors).toEqual([]);
    expect(k6Config.options.types).toEqual(['k6']);
    expect(k6Config.options.lib).toEqual(['lib.es2020.d.ts']);
    expect(k6Config.options.strict).toBe(true);
    expect(k6Config.options.noEmit).toBe(true);
  });

  it('rejects a scenario with a wrong option: an arrival-rate executor without its rate, a misspelled option key', () => {
    const diags = diagnose(fixture('bad-option.ts'));
    expect(diags).toEqual([
      expect.objectContaining({ line: 11, code: 2322, message: expect.stringMatching(/Property 'rate' is missing .* 'ConstantArrivalRateScenario'/) }),
      expect.objectContaining({ line: 16, code: 2561, message: expect.stringContaining("'tresholds' does not exist in type 'Options'") }),
    ]);
  });

  it('rejects a misused k6 API: http.get(url, 42) and check(res, "a string")', () => {
    const diags = diagnose(fixture('bad-api.ts'));
    expect(diags).toEqual([
      expect.objectContaining({ line: 9, code: 2559, message: expect.stringContaining("Type '42' has no properties in common with type 'RefinedParams") }),
      expect.objectContaining({ line: 10, code: 2345, message: expect.stringContaining("not assignable to parameter of type 'Checkers<") }),
    ]);
  });

  it('rejects a relative import without its extension (k6 resolves imports literally)', () => {
    expect(diagnose(fixture('bad-import.ts'))).toEqual([
      expect.objectContaining({ line: 7, code: 2835, message: expect.stringContaining("Did you mean './lib-helper.js'?") }),
    ]);
  });

  it('rejects Node APIs: the k6 project has no Node types', () => {
    expect(diagnose(fixture('bad-node-api.ts'))).toEqual([
      expect.objectContaining({ line: 6, code: 2591, message: expect.stringContaining("Cannot find name 'process'") }),
      expect.objectContaining({ line: 6, code: 2591, message: expect.stringContaining("Cannot find name 'Buffer'") }),
    ]);
  });

  it('accepts the good fixtures', () => {
    expect(diagnose(fixture('echo-scenario.ts'))).toEqual([]);
    expect(diagnose(fixture('sync-order.ts'))).toEqual([]);
  });

  it('every k6 script under infra/k6 is checked by the k6 project, none by the root (Node) project', () => {
    const rootFiles = new Set(parseConfig('tsconfig.json').fileNames.map((f) => path.resolve(f)));
    const k6Files = new Set(k6Config.fileNames.map((f) => path.resolve(f)));
    const harnessCode = (f: string) => /\/infra\/k6\/harness\/(?!fixtures\/|k6-types\/)/.test(f);
    const all = (fs.readdirSync(K6_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(K6_DIR, f));
    const mustFail = all.filter((f) => /\/harness\/fixtures\/bad-[^/]*\.ts$/.test(f));
    expect(mustFail.length).toBe(4);
    for (const file of all) {
      const rel = path.relative(REPO, file);
      if (harnessCode(file)) {
        expect({ rel, inRoot: rootFiles.has(file), inK6: k6Files.has(file) }).toEqual({ rel, inRoot: true, inK6: false });
      } else {
        // A k6 script picked up by the root project means a directory missing from the root tsconfig.json's exclude.
        const wanted = mustFail.includes(file) ? { rel, inRoot: false, inK6: false } : { rel, inRoot: false, inK6: true };
        expect({ rel, inRoot: rootFiles.has(file), inK6: k6Files.has(file) }).toEqual(wanted);
      }
    }
  });
});

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

describe('one-iteration k6 harness (infra/k6/harness)', () => {
  let server: http.Server;
  let base: string;
  let reportDir: string;
  const seen: Seen[] = [];
  const slowEvents: string[] = [];
  const reported: string[] = [];

  beforeAll(async () => {
    reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-harness-'));
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
        const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...extra });
          res.end(JSON.stringify(value));
        };
        if (url.pathname === '/login') return json(200, { token: 'tok-123' });
        if (url.pathname === '/redirect') {
          res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
          return res.end();
        }
        if (url.pathname.startsWith('/status/')) {
          res.writeHead(Number(url.pathname.slice('/status/'.length)));
          return res.end('status');
        }
        if (url.pathname === '/slow') {
          const n = Number(url.searchParams.get('n'));
          slowEvents.push(`start ${n}`);
          setTimeout(() => {
            slowEvents.push(`end ${n}`);
            json(200, { n });
          }, Number(url.searchParams.get('ms')));
          return;
        }
        if (url.pathname === '/report') {
          reported.push(url.searchParams.get('slept') ?? '');
          return json(200, {});
        }
        if (url.pathname === '/echo') {
          return json(200, { method: req.method, query: Object.fromEntries(url.searchParams), headers: req.headers, body }, { 'x-echo-method': req.method ?? '' });
        }
        json(404, { error: 'no such path' });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(reportDir, { recursive: true, force: true });
  });

  const run = (name: string, env: Record<string, string> = {}): Promise<RunResult> => runScenarioOnce(fixture(name), { env: { BASE_URL: base, ...env }, reportDir });

  it('runs a script that uses every implemented API: setup, each scenario once, teardown, handleSummary', async () => {
    const result = await run('echo-scenario.ts', { TOKEN: 'static-abc' });
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.scenarios).toEqual([
      { name: 'browse', executor: 'constant-vus', exec: 'browse', ok: true },
      { name: 'write', executor: 'constant-arrival-rate', exec: 'write', ok: true },
    ]);
    expect(result.checks.length).toBe(24);
    expect(result.checks.filter((c) => c.passes !== 1 || c.fails !== 0)).toEqual([]);
    expect(result.checks.map((c) => c.path)).toEqual(expect.arrayContaining(['::setup::login 200', '::read::get 200', '::redirects::redirects: 0 keeps the 302', '::teardown::setup data reaches teardown']));
    // Each request once, the followed redirect as two (k6 samples each hop), in order.
    expect(result.requests.map((r) => `${r.phase} ${r.scenario ?? '-'} ${r.method} ${new URL(r.url).pathname} ${r.status}`)).toEqual([
      'setup - POST /login 200',
      'vu browse GET /echo 200',
      'vu browse GET /redirect 302',
      'vu browse GET /echo 200',
      'vu browse GET /redirect 302',
      'vu browse GET /status/404 404',
      'vu write POST /echo 200',
      'vu write PUT /echo 200',
      'vu write PATCH /echo 200',
      'vu write DELETE /echo 200',
      'vu write OPTIONS /echo 200',
    ]);
    expect(result.requests.every((r) => r.expected === true)).toBe(true);
    expect(result.thresholds.length).toBe(13);
    expect(result.thresholds.every((t) => t.valid)).toBe(true);
    expect(seen.find((s) => s.url === '/echo?from=browse')?.headers).toMatchObject({ authorization: 'Bearer tok-123', 'x-static-token': 'static-abc' });

    expect(result.summaryStdout).toMatch(/^echo-scenario summary: \d+ metrics\n$/);
    const summaryFile = path.join(reportDir, 'echo-summary.json');
    expect(result.summaryFiles).toEqual([summaryFile]);
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as {
      metrics: Record<string, { type: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
      root_group: { checks: unknown[]; groups: Array<{ name: string }> };
      state: { testRunDurationMs: number };
      setup_data: unknown;
    };
    expect(summary.metrics.http_reqs).toMatchObject({ type: 'counter', values: { count: 11 } });
    expect(summary.metrics.checks).toMatchObject({ type: 'rate', values: { rate: 1, passes: 24, fails: 0 }, thresholds: { 'rate==1': { ok: true } } });
    expect(Object.keys(summary.metrics.http_req_duration!.values)).toEqual(['avg', 'min', 'med', 'max', 'p(90)', 'p(95)']);
    expect(summary.metrics['http_req_duration{scenario:write}']).toMatchObject({ type: 'trend', thresholds: { 'p(90)<400': { ok: true } } });
    expect(summary.metrics.echo_latency).toMatchObject({ type: 'trend' });
    expect(summary.metrics.echo_ok).toMatchObject({ type: 'rate', values: { rate: 1 } });
    expect(summary.metrics.echo_calls).toMatchObject({ type: 'counter', values: { count: 1 } });
    expect(summary.metrics.echo_last_status).toMatchObject({ type: 'gauge', values: { value: 200 } });
    expect(summary.root_group.groups.map((g) => g.name)).toEqual(['setup', 'read', 'redirects', 'teardown']);
    expect(summary.setup_data).toEqual({ token: 'tok-123', startedBy: 0 });
    expect(summary.state.testRunDurationMs).toBeGreaterThan(0);
  });

  it('fails when a check fails, and names it', async () => {
    const result = await run('check-fails.ts');
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual(["check failed: 'status is 200' in scenario 'default'"]);
    expect(result.checks).toEqual([{ name: 'status is 200', path: '::status is 200', passes: 0, fails: 1 }]);
    expect(result.warnings).toEqual([expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/status\/503 → 503 counts as failed in http_req_failed$/)]);
  });

  it('fails when setup() throws, and runs no scenario', async () => {
    const before = seen.length;
    const result = await run('setup-throws.ts');
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual([expect.stringMatching(/^setup\(\) threw: Error: login answered 200: no token to go on with/)]);
    expect(result.scenarios).toEqual([]);
    expect(seen.slice(before).map((s) => s.url)).toEqual(['/login']);
  });

  it('fails on malformed threshold expressions (k6 grammar), before running anything', async () => {
    const before = seen.length;
    const result = await run('threshold-malformed.ts');
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual([
      expect.stringContaining('"p(99)<<200" right hand side'),
      expect.stringContaining('unknown aggregation method "p99"'),
    ]);
    expect(result.thresholds.map((t) => [t.expression, t.valid])).toEqual([
      ['p(99)<<200', false],
      ['p99<200', false],
      ['p(95)<500', true],
    ]);
    expect(seen.length).toBe(before);
  });

  it('fails when a scenario names an exec function the script does not export', async () => {
    const before = seen.length;
    const result = await run('exec-missing.ts');
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual(["scenario 'checkout': executor per-vu-iterations: function 'checkuot' not found in exports"]);
    expect(seen.length).toBe(before);
  });

  it('fails on an import k6 cannot load: an extensionless path, an unimplemented k6 module', async () => {
    const extensionless = await run('bad-import.ts');
    expect(extensionless.ok).toBe(false);
    expect(extensionless.reasons).toEqual([expect.stringContaining("k6 resolves imports literally: './lib-helper'")]);
    const unimplemented = await run('unsupported-module.ts');
    expect(unimplemented.ok).toBe(false);
    expect(unimplemented.reasons).toEqual([expect.stringContaining("module 'k6/crypto' is not implemented")]);
  });

  it('is synchronous like k6: sequential requests complete in order, sleep(0.1) blocks for 100 ms or more', async () => {
    const result = await run('sync-order.ts');
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    expect(slowEvents).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(result.requests.map((r) => new URL(r.url).search)).toEqual(['?n=1&ms=150', '?n=2&ms=0', expect.stringMatching(/^\?slept=\d+$/)]);
    expect(result.requests[0]!.durationMs).toBeGreaterThanOrEqual(150);
    expect(reported.length).toBe(1);
    expect(Number(reported[0])).toBeGreaterThanOrEqual(100);
  });

  it('npm run k6:once prints one JSON result per script and exits non-zero when one fails', async () => {
    // Asynchronously: this process serves the requests.
    const cli = spawn(path.join(REPO, 'node_modules/.bin/tsx'), [path.join(HARNESS, 'run-once-cli.ts'), '-e', `BASE_URL=${base}`, fixture('sync-order.ts'), fixture('check-fails.ts')], {
      cwd: reportDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    cli.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const status = await new Promise<number | null>((resolve) => cli.on('close', resolve));
    expect(status).toBe(1);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean });
    expect(lines.map((l) => [path.basename(l.file), l.ok])).toEqual([
      ['sync-order.ts', true],
      ['check-fails.ts', false],
    ]);
  });
});
