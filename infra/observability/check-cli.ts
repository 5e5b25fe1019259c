/**
 * npm run observability:check    checks prometheus.yml, alert-rules.yml and the Grafana dashboards
 *
 * Options (each defaults to the repository's files):
 *   --config FILE        a Prometheus config, for `promtool check config` (which checks its rule files too)
 *   --rules FILE         a rule file (repeatable), for `promtool check rules` and the expression checks
 *   --dashboard FILE     a dashboard JSON (repeatable), for promtool and the expression checks
 *   --skip-promtool      run the expression checks only (where promtool is not installed)
 *
 * Prints one line per check and the problems under it; exits 1 when any check fails.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { catalogueMetricNames } from './metric-catalogue';
import {
  ALERT_RULES,
  DASHBOARDS_DIR,
  PROMETHEUS_CONFIG,
  checkExpressions,
  dashboardFilesIn,
  expressionsOf,
  promtoolCheck,
  promtoolCheckExpressions,
  promtoolPath,
  type PromQLExpression,
} from './promql-expressions';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    rules: { type: 'string', multiple: true },
    dashboard: { type: 'string', multiple: true },
    'skip-promtool': { type: 'boolean', default: false },
  },
});

const show = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') ? file : rel;
};
const indent = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `      ${line}`)
    .join('\n');
let failed = false;
const report = (ok: boolean, line: string, details?: string) => {
  if (!ok) failed = true;
  process.stdout.write(`  ${ok ? '✓' : '✗'} ${line}\n${!ok && details ? `${indent(details)}\n` : ''}`);
};

async function main(): Promise<void> {
  const config = path.resolve(values.config ?? PROMETHEUS_CONFIG);
  const rulesFiles = (values.rules ?? [ALERT_RULES]).map((f) => path.resolve(f));
  const dashboardFiles = (values.dashboard ?? dashboardFilesIn(DASHBOARDS_DIR)).map((f) => path.resolve(f));
  process.stdout.write('Observability files\n');

  let expressions: PromQLExpression[] = [];
  try {
    expressions = expressionsOf({ rulesFiles, dashboardFiles });
  } catch (err) {
    report(false, 'reading the rule files and dashboards', (err as Error).message);
  }

  if (values['skip-promtool']) {
    process.stdout.write('  - promtool checks skipped (--skip-promtool)\n');
  } else {
    const promtool = promtoolPath();
    if (!promtool) {
      report(false, "promtool not found: install Debian's prometheus package (or set PROMTOOL), or pass --skip-promtool");
    } else {
      const version = execFileSync(promtool, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
      process.stdout.write(`  ${version} (${promtool})\n`);
      const checked = await promtoolCheck('config', config);
      report(checked.ok, `promtool check config ${show(config)}`, checked.output);
      for (const file of rulesFiles) {
        const rules = await promtoolCheck('rules', file);
        const count = /(\d+) rules found/.exec(rules.output)?.[1];
        report(rules.ok, `promtool check rules ${show(file)}${count ? ` (${count} rule${count === '1' ? '' : 's'})` : ''}`, rules.output);
      }
      const fromDashboards = expressions.filter((e) => e.kind === 'panel' || e.kind === 'variable');
      if (fromDashboards.length > 0) {
        const dashboards = await promtoolCheckExpressions(fromDashboards);
        const named = dashboards.failing.map((e) => `${e.file}: ${e.place}: ${e.expr}`).join('\n');
        report(dashboards.ok, `promtool check rules on the ${fromDashboards.length} dashboard expressions`, [named, dashboards.output].filter(Boolean).join('\n'));
      }
    }
  }

  const known = await catalogueMetricNames();
  const problems = checkExpressions(expressions, known);
  report(
    problems.length === 0,
    `${expressions.length} expressions parse (lezer-promql) and read only metrics of the catalogue (${known.size} names)`,
    problems.map((p) => `${p.expression.file}: ${p.expression.place}: ${p.message}${p.kind === 'unknown-metric' ? `\n  in ${p.expression.expr}` : ''}`).join('\n'),
  );

  process.stdout.write(failed ? 'FAILED\n' : 'OK\n');
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
