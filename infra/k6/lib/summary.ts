/**
 * handleSummary for every scenario: writes `<dir>/<scenario>-summary.json`
 * (k6's summary data as is) and `<dir>/<scenario>-report.md` (thresholds
 * passed or failed, checks, p50/p95/p99 of http_req_duration per endpoint,
 * the custom metrics), and prints the same report as text. `<dir>` is
 * K6_REPORT_DIR (default infra/k6/reports, relative to where k6 runs; k6
 * does not create it). No k6 module import: only data in, strings out.
 */
import { env, reportDir } from './config.ts';
import { TRACKING } from './thresholds.ts';

export interface SummaryMetric {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains: 'default' | 'time' | 'data';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface SummaryCheck {
  name: string;
  path?: string;
  passes: number;
  fails: number;
}

export interface SummaryGroup {
  name: string;
  path?: string;
  groups?: SummaryGroup[];
  checks?: SummaryCheck[];
}

export interface SummaryData {
  metrics: Record<string, SummaryMetric>;
  root_group?: SummaryGroup;
  state?: { testRunDurationMs?: number };
  setup_data?: unknown;
}

export interface ThresholdRow {
  metric: string;
  threshold: string;
  ok: boolean;
  value: string;
}

const num = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? '—' : String(Math.round(v * 10 ** digits) / 10 ** digits));

/** The figure a threshold expression is about, e.g. `p(99)` of `p(99)<200`, `rate` of `rate<0.001`. */
function thresholdValue(m: SummaryMetric, expr: string): string {
  const agg = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)/.exec(expr)?.[1] ?? '';
  const key = agg === 'count' && m.type === 'counter' ? 'count' : agg;
  const v = m.values[key];
  if (v === undefined) return '—';
  if (m.type === 'rate' || key === 'rate') return `${num(v * 100, 3)} %`;
  return m.contains === 'time' ? `${num(v)} ms` : num(v);
}

export function thresholdRows(data: SummaryData): ThresholdRow[] {
  const rows: ThresholdRow[] = [];
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name]!;
    for (const expr of Object.keys(m.thresholds ?? {})) {
      if (expr === TRACKING) continue;
      rows.push({ metric: name, threshold: expr, ok: m.thresholds![expr]!.ok, value: thresholdValue(m, expr) });
    }
  }
  return rows;
}

export function checkRows(data: SummaryData): SummaryCheck[] {
  const out: SummaryCheck[] = [];
  const walk = (g: SummaryGroup | undefined) => {
    if (!g) return;
    for (const c of g.checks ?? []) out.push(c);
    for (const sub of g.groups ?? []) walk(sub);
  };
  walk(data.root_group);
  return out;
}

export interface LatencyRow {
  name: string;
  count?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

/** p50/p95/p99 of http_req_duration per `name` tag (the submetrics trackEndpoints() keeps), plus per `kind`. */
export function latencyRows(data: SummaryData): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const key of Object.keys(data.metrics).sort()) {
    const m = /^http_req_duration\{(name|kind):([^}]+)\}$/.exec(key);
    if (!m) continue;
    const v = data.metrics[key]!.values;
    rows.push({
      name: m[1] === 'kind' ? `(kind ${m[2]})` : m[2]!,
      ...(v.count !== undefined ? { count: v.count } : {}),
      ...(v['p(50)'] !== undefined || v.med !== undefined ? { p50: v['p(50)'] ?? v.med } : {}),
      ...(v['p(95)'] !== undefined ? { p95: v['p(95)'] } : {}),
      ...(v['p(99)'] !== undefined ? { p99: v['p(99)'] } : {}),
      ...(v.max !== undefined ? { max: v.max } : {}),
    });
  }
  const all = data.metrics.http_req_duration;
  if (all) rows.push({ name: '(all requests)', count: all.values.count, p50: all.values['p(50)'] ?? all.values.med, p95: all.values['p(95)'], p99: all.values['p(99)'], max: all.values.max });
  return rows;
}

const BUILTIN = /^(http_|iteration|vus|data_|checks$|group_duration|dropped_iterations)/;

export function customMetricRows(data: SummaryData): { name: string; type: string; values: string }[] {
  const out: { name: string; type: string; values: string }[] = [];
  for (const name of Object.keys(data.metrics).sort()) {
    if (BUILTIN.test(name) || name.indexOf('{') >= 0) continue;
    const m = data.metrics[name]!;
    const unit = m.contains === 'time' ? ' ms' : '';
    const v = m.values;
    const text =
      m.type === 'trend'
        ? `p50 ${num(v['p(50)'] ?? v.med)}${unit}, p95 ${num(v['p(95)'])}${unit}, p99 ${num(v['p(99)'])}${unit}, max ${num(v.max)}${unit}, n ${num(v.count, 0)}`
        : m.type === 'rate'
          ? `${num((v.rate ?? 0) * 100, 3)} % (${num(v.passes, 0)} true / ${num(v.fails, 0)} false)`
          : m.type === 'counter'
            ? `${num(v.count, 0)} (${num(v.rate)}/s)`
            : `${num(v.value)} (min ${num(v.min)}, max ${num(v.max)})`;
    out.push({ name, type: m.type, values: text });
  }
  for (const name of Object.keys(data.metrics).sort()) {
    const m = /^(orders_confirmed|order_terminal_ms)\{([^}]+)\}$/.exec(name);
    if (!m) continue;
    const v = data.metrics[name]!.values;
    out.push({
      name,
      type: data.metrics[name]!.type,
      values: data.metrics[name]!.type === 'rate' ? `${num((v.rate ?? 0) * 100, 3)} %` : `p99 ${num(v['p(99)'])} ms, n ${num(v.count, 0)}`,
    });
  }
  return out;
}

function accountingNote(data: SummaryData): string | undefined {
  const accepted = data.metrics.orders_accepted?.values.count;
  const found = data.metrics.orders_found?.values.count;
  if (accepted === undefined && found === undefined) return undefined;
  const same = accepted === found || (accepted === undefined && found === 0);
  return `orders accepted by the VUs: ${accepted ?? 0}; found by the teardown through the order service: ${found ?? 'n/a (no teardown count)'}${same ? '' : ' ← DIFFERENT'}`;
}

export interface Report {
  passed: boolean;
  markdown: string;
  text: string;
}

export function buildReport(scenario: string, data: SummaryData, target: string): Report {
  const thresholds = thresholdRows(data);
  const checks = checkRows(data);
  const latency = latencyRows(data);
  const custom = customMetricRows(data);
  const violations = data.metrics.invariant_violations?.values.count ?? 0;
  // k6 passes setup's return value as setup_data: none means setup did not complete.
  const setupMissing = 'setup_data' in data && (data.setup_data === null || data.setup_data === undefined);
  const passed = thresholds.every((t) => t.ok) && violations === 0 && !setupMissing;
  const seconds = data.state?.testRunDurationMs !== undefined ? Math.round(data.state.testRunDurationMs / 100) / 10 : undefined;
  const note = accountingNote(data);

  const md: string[] = [];
  md.push(`# k6 ${scenario}: ${passed ? 'PASSED' : 'FAILED'}`, '');
  if (setupMissing) md.push('**setup() returned no data: the run did not happen (see k6\'s output).**', '');
  md.push(`Target: \`${target}\`${seconds !== undefined ? `, ${seconds} s` : ''}. Invariant violations found by the teardown: **${violations}**.`, '');
  if (note) md.push(note, '');
  md.push('## Thresholds', '', '| metric | threshold | value | result |', '|---|---|---:|:--:|');
  for (const t of thresholds) md.push(`| \`${t.metric}\` | \`${t.threshold}\` | ${t.value} | ${t.ok ? 'passed' : '**FAILED**'} |`);
  md.push('', '## Checks', '', '| check | passes | fails |', '|---|---:|---:|');
  for (const c of checks) md.push(`| ${c.name} | ${c.passes} | ${c.fails === 0 ? '0' : `**${c.fails}**`} |`);
  md.push('', '## http_req_duration per endpoint (ms)', '', '| endpoint | n | p50 | p95 | p99 | max |', '|---|---:|---:|---:|---:|---:|');
  for (const l of latency) md.push(`| ${l.name} | ${num(l.count, 0)} | ${num(l.p50)} | ${num(l.p95)} | ${num(l.p99)} | ${num(l.max)} |`);
  md.push('', '## Custom metrics', '', '| metric | type | values |', '|---|---|---|');
  for (const c of custom) md.push(`| \`${c.name}\` | ${c.type} | ${c.values} |`);
  md.push('');

  const pad = (text: string, n: number) => (text.length >= n ? text : text + ' '.repeat(n - text.length));
  const tx: string[] = [];
  tx.push(`k6 ${scenario} against ${target}: ${passed ? 'PASSED' : 'FAILED'}${seconds !== undefined ? ` (${seconds} s)` : ''}; invariant violations: ${violations}`);
  if (setupMissing) tx.push('setup() returned no data: the run did not happen (see the error above)');
  if (note) tx.push(note);
  tx.push('', 'thresholds:');
  for (const t of thresholds) tx.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${pad(t.metric, 40)} ${pad(t.threshold, 14)} ${t.value}`);
  tx.push('', 'checks:');
  for (const c of checks) tx.push(`  ${c.fails === 0 ? 'ok  ' : 'FAIL'} ${c.name}: ${c.passes} passed, ${c.fails} failed`);
  tx.push('', 'http_req_duration (ms):   n / p50 / p95 / p99 / max');
  for (const l of latency) tx.push(`  ${pad(l.name, 34)} ${num(l.count, 0)} / ${num(l.p50)} / ${num(l.p95)} / ${num(l.p99)} / ${num(l.max)}`);
  tx.push('', 'custom metrics:');
  for (const c of custom) tx.push(`  ${pad(c.name, 40)} ${c.values}`);
  tx.push('');
  return { passed, markdown: md.join('\n'), text: tx.join('\n') };
}

/** The handleSummary of scenario `scenario`. */
export function makeHandleSummary(scenario: string): (data: SummaryData) => Record<string, string> {
  return (data: SummaryData) => {
    const e = env();
    const dir = reportDir(e);
    const target = `${e.K6_TARGET || 'local'}${e.GATEWAY_URL ? ` ${e.GATEWAY_URL}` : ''}`;
    const report = buildReport(scenario, data, target);
    return {
      stdout: `\n${report.text}\nreports: ${dir}/${scenario}-report.md, ${dir}/${scenario}-summary.json\n`,
      [`${dir}/${scenario}-summary.json`]: JSON.stringify(data, null, 2),
      [`${dir}/${scenario}-report.md`]: report.markdown,
    };
  };
}
