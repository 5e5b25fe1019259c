import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findExecutable } from '../tools/tool-cache';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parseYamlFile, type YamlValue } from './yaml-file';

/**
 * The PromQL of the observability files (alert-rules.yml and the Grafana
 * dashboards), where it came from, and the checks on it: the Prometheus
 * project's own PromQL grammar (lezer-promql) for syntax and the metric
 * names each expression reads, and promtool, Prometheus' parser and type
 * checker, for everything else. npm run observability:check runs them all
 * (check-cli.ts); infra/test/observability-config.int.spec.ts shows each
 * check failing on a broken fixture.
 */

export const OBSERVABILITY_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROMETHEUS_CONFIG = path.join(OBSERVABILITY_DIR, 'prometheus.yml');
export const ALERT_RULES = path.join(OBSERVABILITY_DIR, 'alert-rules.yml');
export const DASHBOARDS_DIR = path.join(OBSERVABILITY_DIR, 'grafana', 'dashboards');

export interface PromQLExpression {
  /** The file, relative to the working directory when it is under it. */
  file: string;
  /** `alert ServiceDown`, `record job:x:rate5m`, `panel "Consumer lag" (A)`, `variable $job`. */
  place: string;
  kind: 'alert' | 'record' | 'panel' | 'variable';
  /** The expression as Prometheus sees it (Grafana variables substituted). */
  expr: string;
  /** The expression as written in the file. */
  source: string;
}

/**
 * What Grafana's built-in variables stand for when an expression is checked:
 * any valid duration will do, since only the syntax and the types matter.
 */
const BUILT_IN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __interval_ms: '60000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

export class GrafanaVariableError extends Error {
  override name = 'GrafanaVariableError';
}

/**
 * Replaces Grafana variables (`$name`, `${name}`, `${name:format}`,
 * `[[name]]`) by a stand-in: a duration for the built-in intervals and
 * ranges, `.*` for a dashboard's own variables (they are used in regex
 * matchers, `job=~"$job"`). A variable the dashboard does not define is an
 * error: Grafana would send it to Prometheus as it is.
 */
export function substituteGrafanaVariables(expr: string, variables: Readonly<Record<string, string>> = {}): string {
  const values = { ...BUILT_IN_VARIABLES, ...variables };
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values[name];
    if (value === undefined) throw new GrafanaVariableError(`unknown Grafana variable ${whole} in ${JSON.stringify(expr)}`);
    return value;
  });
}

const relative = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
};

/** The alerts' and recording rules' expressions of a Prometheus rule file's text. */
export function ruleExpressions(text: string, file: string): PromQLExpression[] {
  const doc = parseYamlFile(text, file);
  const out: PromQLExpression[] = [];
  const groups = isMap(doc) ? doc.groups : undefined;
  if (!Array.isArray(groups)) throw new Error(`${file}: a rule file is a mapping with a "groups" list`);
  for (const group of groups) {
    const rules = isMap(group) ? group.rules : undefined;
    if (!Array.isArray(rules)) throw new Error(`${file}: group ${JSON.stringify(isMap(group) ? group.name : group)} has no "rules" list`);
    for (const rule of rules) {
      if (!isMap(rule) || typeof rule.expr !== 'string') throw new Error(`${file}: a rule without an expr in group ${JSON.stringify(group && isMap(group) ? group.name : '')}`);
      const kind = typeof rule.alert === 'string' ? 'alert' : typeof rule.record === 'string' ? 'record' : undefined;
      if (!kind) throw new Error(`${file}: a rule with neither alert nor record: ${JSON.stringify(rule.expr)}`);
      const expr = rule.expr.trim();
      out.push({ file, place: `${kind} ${kind === 'alert' ? rule.alert : rule.record}`, kind, expr, source: expr });
    }
  }
  return out;
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { expr?: unknown; refId?: string }[];
  panels?: GrafanaPanel[];
}
interface GrafanaVariable {
  name: string;
  type?: string;
  query?: unknown;
}
interface GrafanaDashboard {
  title?: string;
  panels?: GrafanaPanel[];
  rows?: GrafanaPanel[];
  templating?: { list?: GrafanaVariable[] };
}

/**
 * The selector a Prometheus template-variable query reads, as an expression:
 * `label_values(up, job)` reads `up`, `query_result(expr)` reads `expr`;
 * `label_values(job)`, `label_names()` and `metrics(...)` read no metric.
 */
export function variableQuerySelector(query: string): string | undefined {
  const q = query.trim();
  const labelValues = /^label_values\(\s*(.*),\s*[\w.]+\s*\)$/s.exec(q);
  if (labelValues) return labelValues[1]!.trim();
  const result = /^query_result\((.*)\)$/s.exec(q);
  if (result) return result[1]!.trim();
  if (/^(label_values\(\s*[\w.]+\s*\)|label_names\(.*\)|metrics\(.*\))$/s.test(q)) return undefined;
  throw new Error(`unrecognised Grafana variable query ${JSON.stringify(query)}`);
}

/** The expressions of a Grafana dashboard's JSON: every target of every panel (in rows too), and the variable queries. */
export function dashboardExpressions(text: string, file: string): PromQLExpression[] {
  const dashboard = JSON.parse(text) as GrafanaDashboard;
  const out: PromQLExpression[] = [];
  const variables: Record<string, string> = {};
  const list = dashboard.templating?.list ?? [];
  for (const v of list) variables[v.name] = v.type === 'interval' ? '1m' : '.*';
  for (const v of list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query as { query?: unknown } | undefined)?.query;
    if (typeof query !== 'string') throw new Error(`${file}: variable $${v.name} has no query`);
    const selector = variableQuerySelector(query);
    if (selector !== undefined) out.push({ file, place: `variable $${v.name}`, kind: 'variable', expr: substituteGrafanaVariables(selector, variables), source: query });
  }
  const walk = (panels: GrafanaPanel[] | undefined, within: string) => {
    for (const panel of panels ?? []) {
      const title = `${within}${JSON.stringify(panel.title ?? '')}`;
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        if (typeof target.expr !== 'string') throw new Error(`${file}: panel ${title} has a target whose expr is not a string`);
        const place = `panel ${title} (${target.refId ?? '?'})`;
        let expr: string;
        try {
          expr = substituteGrafanaVariables(target.expr, variables);
        } catch (err) {
          throw new GrafanaVariableError(`${file}: ${place}: ${(err as Error).message}`);
        }
        out.push({ file, place, kind: 'panel', expr, source: target.expr });
      }
      walk(panel.panels, panel.type === 'row' ? `${title} › ` : within);
    }
  };
  walk(dashboard.panels, '');
  walk(dashboard.rows, '');
  return out;
}

/**
 * Every PromQL expression of the observability files: the rule file's alerts
 * and records, then each dashboard's (files in name order), with the place
 * each came from. Paths default to the repository's files.
 */
export function expressionsOf(options: { rulesFiles?: readonly string[]; dashboardFiles?: readonly string[] } = {}): PromQLExpression[] {
  const rulesFiles = options.rulesFiles ?? [ALERT_RULES];
  const dashboardFiles = options.dashboardFiles ?? dashboardFilesIn(DASHBOARDS_DIR);
  return [
    ...rulesFiles.flatMap((f) => ruleExpressions(fs.readFileSync(f, 'utf8'), relative(f))),
    ...dashboardFiles.flatMap((f) => dashboardExpressions(fs.readFileSync(f, 'utf8'), relative(f))),
  ];
}

export function dashboardFilesIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

export class PromQLSyntaxError extends Error {
  override name = 'PromQLSyntaxError';
  constructor(
    readonly expr: string,
    /** 0-based offset of the first error in `expr`. */
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    const lines = expr.split('\n');
    super(`PromQL syntax error at line ${line}, column ${column}:\n  ${lines[line - 1]}\n  ${' '.repeat(column - 1)}^`);
  }
}

export class MetricNameError extends Error {
  override name = 'MetricNameError';
}

function syntaxError(expr: string, offset: number): PromQLSyntaxError {
  const before = expr.slice(0, offset).split('\n');
  return new PromQLSyntaxError(expr, offset, before.length, before[before.length - 1]!.length + 1);
}

/** A PromQL string literal's value ("..." and '...' with escapes, `...` raw). */
function unquote(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  return body.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

/**
 * The metric names an expression reads, one per vector selector, in order of
 * first appearance: the identifier before `{`, a quoted name inside it
 * (`{"name"}`), or a `__name__="..."` matcher. Syntax errors (where lezer's
 * error recovery put an error node, `⚠`) throw a PromQLSyntaxError with the
 * position of the first; a selector whose metric name is not one fixed name
 * (`{job="x"}`, `{__name__=~"shop_.*"}`) throws a MetricNameError, since the
 * names it reads cannot be checked.
 */
export function metricNamesIn(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const unnamed: string[] = [];
  let error: number | undefined;
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        error ??= ref.from;
        return false;
      }
      if (ref.name !== 'VectorSelector') return undefined;
      const node = ref.node;
      const selector = JSON.stringify(text(node.from, node.to));
      const found: string[] = [];
      const identifier = node.getChild('Identifier');
      if (identifier) found.push(text(identifier.from, identifier.to));
      const matchers = node.getChild('LabelMatchers');
      for (let m = matchers?.firstChild; m; m = m.nextSibling) {
        if (m.name === 'QuotedLabelName') found.push(unquote(text(m.from, m.to)));
        if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
        const label = m.firstChild;
        const op = m.getChild('MatchOp')?.firstChild;
        const value = m.getChild('StringLiteral');
        if (!label || !op || !value) continue; // incomplete: an error node says where
        const labelName = m.name === 'QuotedLabelMatcher' ? unquote(text(label.from, label.to)) : text(label.from, label.to);
        if (labelName !== '__name__') continue;
        if (op.name === 'EqlSingle') found.push(unquote(text(value.from, value.to)));
        else unnamed.push(`the selector ${selector} matches metric names with ${text(op.from, op.to)}; name one metric instead`);
      }
      if (found.length === 0) unnamed.push(`the selector ${selector} names no metric`);
      for (const name of found) if (!names.includes(name)) names.push(name);
      return undefined;
    },
  });
  // A syntax error first: it may be why a selector looks nameless.
  if (error !== undefined) throw syntaxError(expr, error);
  if (unnamed.length > 0) throw new MetricNameError(unnamed[0]);
  return names;
}

/**
 * The metric names in a Prometheus text exposition (a scrape of /metrics):
 * every sample's name, and for every `# TYPE` line the names its samples
 * have (a histogram's `_bucket`, `_sum` and `_count`, a summary's `_sum` and
 * `_count`), so a metric with no sample yet counts too. Sorted.
 */
export function scrapedMetricNames(text: string): string[] {
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const type = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram' || kind === 'gaugehistogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      else if (kind === 'summary') {
        names.add(name);
        for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
      } else names.add(name);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?=[\s{])/.exec(line) ?? /^\{"((?:[^"\\]|\\.)*)"/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return [...names].sort();
}

export interface ExpressionProblem {
  expression: PromQLExpression;
  kind: 'syntax' | 'metric-name' | 'unknown-metric';
  message: string;
}

/** Parses each expression and checks the metric names it reads against the known ones. */
export function checkExpressions(expressions: readonly PromQLExpression[], knownMetrics: ReadonlySet<string>): ExpressionProblem[] {
  const problems: ExpressionProblem[] = [];
  for (const expression of expressions) {
    let names: string[];
    try {
      names = metricNamesIn(expression.expr);
    } catch (err) {
      if (!(err instanceof PromQLSyntaxError) && !(err instanceof MetricNameError)) throw err;
      problems.push({ expression, kind: err instanceof PromQLSyntaxError ? 'syntax' : 'metric-name', message: err.message });
      continue;
    }
    for (const name of names) {
      if (!knownMetrics.has(name)) problems.push({ expression, kind: 'unknown-metric', message: `unknown metric ${name}` });
    }
  }
  return problems;
}

/** promtool: $PROMTOOL, else on PATH, else Debian's /usr/bin/promtool; undefined when there is none. */
export function promtoolPath(): string | undefined {
  return findExecutable('promtool', 'PROMTOOL');
}

/**
 * `promtool check config FILE` (which checks its rule files too) or
 * `promtool check rules FILE`: ok when promtool exits 0, with what it
 * printed. Throws when there is no promtool.
 */
export function promtoolCheck(kind: 'config' | 'rules', file: string): Promise<{ ok: boolean; output: string }> {
  const promtool = promtoolPath();
  if (!promtool) return Promise.reject(new Error("promtool not found (Debian's prometheus package installs it; or set PROMTOOL)"));
  // --syntax-only would skip the files a config names; the full check reads no network.
  return new Promise((resolve, reject) => {
    execFile(promtool, ['check', kind, file], { timeout: 60_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (err && typeof err.code !== 'number') reject(new Error(`promtool did not run: ${err.message}`));
      else resolve({ ok: !err, output });
    });
  });
}

/**
 * Writes `expressions` as the recording rules of a temporary rule file (one
 * group, rule n is expression n) so that `promtool check rules` parses and
 * type-checks them with Prometheus' own parser. Returns its path and a
 * remover.
 */
export async function writeExpressionsAsRules(expressions: readonly PromQLExpression[]): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'shop-promql-'));
  const file = path.join(dir, 'dashboard-expressions.rules.yml');
  const lines = ['groups:', '  - name: dashboard-expressions', '    rules:'];
  expressions.forEach((e, i) => {
    // JSON strings are YAML double-quoted scalars.
    lines.push(`      # ${e.file}: ${e.place.replace(/\s+/g, ' ')}`, `      - record: dashboard:expression_${i + 1}`, `        expr: ${JSON.stringify(e.expr)}`);
  });
  await fsp.writeFile(file, `${lines.join('\n')}\n`);
  return { file, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}

/**
 * promtool's verdict on dashboard expressions: writes them as recording
 * rules, checks the file, and names the expressions promtool's errors point
 * at (it reports `rule N`).
 */
export async function promtoolCheckExpressions(expressions: readonly PromQLExpression[]): Promise<{ ok: boolean; output: string; failing: PromQLExpression[] }> {
  const { file, remove } = await writeExpressionsAsRules(expressions);
  try {
    const { ok, output } = await promtoolCheck('rules', file);
    const failing = [...new Set([...output.matchAll(/rule (\d+)/g)].map((m) => Number(m[1])))].map((n) => expressions[n - 1]).filter((e): e is PromQLExpression => e !== undefined);
    return { ok, output, failing };
  } finally {
    await remove();
  }
}

function isMap(value: YamlValue | undefined): value is { [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
