import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { metricsRegistry } from '@shop/platform';
import { catalogueMetricNames } from '../observability/metric-catalogue';
import {
  ALERT_RULES,
  DASHBOARDS_DIR,
  GrafanaVariableError,
  MetricNameError,
  OBSERVABILITY_DIR,
  PROMETHEUS_CONFIG,
  PromQLSyntaxError,
  checkExpressions,
  dashboardExpressions,
  dashboardFilesIn,
  expressionsOf,
  metricNamesIn,
  promtoolCheck,
  promtoolCheckExpressions,
  promtoolPath,
  ruleExpressions,
  scrapedMetricNames,
  substituteGrafanaVariables,
} from '../observability/promql-expressions';
import { parseYamlFile, type YamlValue } from '../observability/yaml-file';

/**
 * The Prometheus config, alert rules and Grafana dashboards of
 * infra/observability: promtool (Prometheus' own parser and type checker)
 * accepts them, every expression parses with Prometheus' PromQL grammar and
 * reads only metrics the services expose, and each of these checks rejects
 * a broken fixture (infra/test/fixtures/observability). Without promtool the
 * promtool checks are skipped with a warning, unless CI is set, where they
 * fail.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/observability/', import.meta.url));
const fixture = (name: string) => path.join(FIXTURES, name);
const read = (file: string) => fs.readFileSync(file, 'utf8');

const SERVICES = ['catalog-service', 'inventory-service', 'order-service', 'coordinator-service', 'analytics-service'];
const ALERTS = [
  'ConsumerLagGrowing',
  'DeadLetterQueueNotEmpty',
  'HighHttpErrorRatio',
  'OutboxRelayLagging',
  'ProjectionLagging',
  'SagaDurationP95AboveSLO',
  'ServiceDown',
  'StuckSagas',
];

const promtool = promtoolPath();
if (!promtool) {
  if (process.env.CI) throw new Error("the observability tests need promtool (Debian's prometheus package)");
  console.warn("skipping the promtool checks of infra/observability: promtool not found (install Debian's prometheus package)");
}

type YamlMap = { [key: string]: YamlValue };
const asMap = (v: YamlValue | undefined) => v as YamlMap;
const asList = (v: YamlValue | undefined) => v as YamlValue[];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesOf = (file: string) => asList(asMap(parseYamlFile(read(file), file)).groups).flatMap((g) => asList(asMap(g).rules) as unknown as Rule[]);

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { datasource?: { type: string; uid: string }; expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; datasource?: { uid: string }; query: { query: string } }[] };
}
const dashboards = Object.fromEntries(dashboardFilesIn(DASHBOARDS_DIR).map((f) => [path.basename(f), JSON.parse(read(f)) as Dashboard]));
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('the observability files (infra/observability)', () => {
  describe('their PromQL', () => {
    it('is every alert, every panel target (in collapsed rows too) and every variable query, with where it came from', () => {
      const expressions = expressionsOf();
      expect(expressions.filter((e) => e.kind === 'alert').map((e) => e.place.replace('alert ', '')).sort()).toEqual(ALERTS);
      expect(new Set(expressions.map((e) => path.basename(e.file)))).toEqual(new Set(['alert-rules.yml', 'bus.json', 'overview.json', 'sagas.json', 'service-red.json']));
      // Handler details is a collapsed row: its panels live inside it.
      expect(expressions.map((e) => e.place)).toContain('panel "Handler details" › "Handler duration p95" (A)');
      expect(expressions.find((e) => e.file.endsWith('service-red.json') && e.place === 'variable $job')).toMatchObject({ expr: 'up', source: 'label_values(up, job)' });
      // Grafana's variables become values Prometheus accepts.
      const red = expressions.find((e) => e.place === 'panel "Requests by route" (A)')!;
      expect(red.source).toContain('job=~"$job"');
      expect(red.source).toContain('[$__rate_interval]');
      expect(red.expr).toContain('job=~".*"');
      expect(red.expr).toContain('[1m]');
      expect(expressions.every((e) => !e.expr.includes('$'))).toBe(true);
    });

    it('parses, and reads only metrics the services expose (the catalogue of platform/src/observability/metrics.ts, prom-client runtime metrics, up)', async () => {
      const known = await catalogueMetricNames();
      const expressions = expressionsOf();
      expect(expressions.length).toBeGreaterThan(60);
      expect(checkExpressions(expressions, known)).toEqual([]);
      for (const e of expressions) expect(metricNamesIn(e.expr).length, e.place).toBeGreaterThan(0);
      // The metrics the brief's alerts are about are among those read.
      const read = new Set(expressions.flatMap((e) => metricNamesIn(e.expr)));
      for (const name of ['up', 'shop_bus_consumer_lag_messages', 'shop_bus_dead_letter_messages', 'shop_saga_duration_seconds_bucket', 'shop_sagas_stuck', 'shop_http_requests_total', 'shop_outbox_relay_lag_events', 'shop_projection_lag_events', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds_sum']) {
        expect(read).toContain(name);
      }
    });

    it('rejects a broken expression, saying where it breaks', async () => {
      const expressions = dashboardExpressions(read(fixture('dashboard-broken-expr.json')), 'dashboard-broken-expr.json');
      const problems = checkExpressions(expressions, await catalogueMetricNames());
      expect(problems).toEqual([expect.objectContaining({ kind: 'syntax', expression: expect.objectContaining({ place: 'panel "Details" › "Unclosed parenthesis" (A)' }) })]);
      const broken = expressions.find((e) => e.place.includes('Unclosed'))!.expr;
      let error: unknown;
      try {
        metricNamesIn(broken);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PromQLSyntaxError);
      expect(error).toMatchObject({ line: 1, column: broken.length + 1, offset: broken.length });
      expect(() => metricNamesIn('sum(rate(up[5m]) by')).toThrow(PromQLSyntaxError);
      expect(() => metricNamesIn('up{job=}')).toThrow(/column 8/);
      expect(() => metricNamesIn('')).toThrow(PromQLSyntaxError);

      const rules = ruleExpressions(read(fixture('bad-alert-rules.yml')), 'bad-alert-rules.yml');
      expect(checkExpressions(rules, await catalogueMetricNames()).map((p) => [p.expression.place, p.kind])).toEqual([['alert HighHttpErrorRatio', 'syntax']]);
    });

    it('rejects an expression that reads a metric no service exposes, in a dashboard or a recording rule', async () => {
      const known = await catalogueMetricNames();
      const expressions = [
        ...dashboardExpressions(read(fixture('dashboard-unknown-metric.json')), 'dashboard-unknown-metric.json'),
        ...ruleExpressions(read(fixture('unknown-metric-rules.yml')), 'unknown-metric-rules.yml'),
      ];
      expect(checkExpressions(expressions, known).map((p) => [p.expression.place, p.message])).toEqual([
        ['panel "Details" › "Orders placed" (A)', 'unknown metric shop_orders_placed_total'],
        ['record job:shop_orders_placed:rate5m', 'unknown metric shop_orders_placed_total'],
      ]);
    });

    it('substitutes Grafana variables, and rejects one the dashboard does not define', () => {
      expect(substituteGrafanaVariables('rate(x{job=~"$job", a=~"${saga_type:regex}", b=~"[[b]]"}[$__rate_interval]) offset $__range', { job: '.*', saga_type: '.*', b: '.*' })).toBe(
        'rate(x{job=~".*", a=~".*", b=~".*"}[1m]) offset 1h',
      );
      expect(() => dashboardExpressions(read(fixture('dashboard-unknown-variable.json')), 'dashboard-unknown-variable.json')).toThrow(GrafanaVariableError);
      expect(() => dashboardExpressions(read(fixture('dashboard-unknown-variable.json')), 'dashboard-unknown-variable.json')).toThrow(/\$service/);
    });

    it('names the metric of every kind of selector, and rejects a selector without one', () => {
      expect(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(a_bucket{job=~"x"}[5m]))) / on(job) group_left b + c offset 5m')).toEqual(['a_bucket', 'b', 'c']);
      expect(metricNamesIn('{__name__="a", job="x"} or {"b.c", job="y"} or {"__name__"="d"} or a')).toEqual(['a', 'b.c', 'd']);
      expect(metricNamesIn('max_over_time(rate(a[1m])[10m:30s]) and label_replace(b, "x", "$1", "y", "(.*)")')).toEqual(['a', 'b']);
      expect(metricNamesIn('vector(1) + time()')).toEqual([]);
      expect(() => metricNamesIn('{job="x"}')).toThrow(MetricNameError);
      expect(() => metricNamesIn('{__name__=~"shop_.*"}')).toThrow(MetricNameError);
    });
  });

  describe('the metric catalogue', () => {
    it("is what a service's scrape shows (plus up), histograms as _bucket, _sum and _count", async () => {
      const known = await catalogueMetricNames();
      expect([...known].sort()).toEqual(['up', ...scrapedMetricNames(await metricsRegistry.metrics())].sort());
      expect(known).toContain('shop_saga_duration_seconds_bucket');
      expect(known).toContain('nodejs_gc_duration_seconds_count');
      expect(known).toContain('process_cpu_seconds_total');
    });

    it('is read from a scrape by TYPE lines and samples', () => {
      const text = [
        '# HELP a_total A counter.',
        '# TYPE a_total counter',
        'a_total{x="1"} 3',
        '# TYPE h_seconds histogram',
        '# TYPE s summary',
        's{quantile="0.5"} 1',
        'untyped_sample 1 1700000000000',
        '{"dotted.name",x="1"} 2',
        '',
      ].join('\n');
      expect(scrapedMetricNames(text)).toEqual(['a_total', 'dotted.name', 'h_seconds_bucket', 'h_seconds_count', 'h_seconds_sum', 's', 's_count', 's_sum', 'untyped_sample']);
    });
  });

  describe('alert-rules.yml', () => {
    it("gives every alert a for, a severity, a summary, a description and a runbook section of docs/observability.md named after it", () => {
      const docs = ['docs/observability.md', 'docs/observability-files.md'].map((f) => path.join(ROOT, f)).filter((f) => fs.existsSync(f));
      const anchors = new Set(docs.flatMap((f) => [...read(f).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchorOf(m[1]!))));
      const alerts = rulesOf(ALERT_RULES).filter((r) => r.alert);
      expect(alerts.map((r) => r.alert).sort()).toEqual(ALERTS);
      for (const rule of alerts) {
        expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
        expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
        expect(rule.annotations?.summary, rule.alert).toBeTruthy();
        expect(rule.annotations?.description, rule.alert).toBeTruthy();
        expect(rule.annotations?.runbook, rule.alert).toBe(`docs/observability.md#${anchorOf(rule.alert!)}`);
        expect(anchors, `a heading for ${rule.alert}`).toContain(anchorOf(rule.alert!));
      }
      const byName = Object.fromEntries(alerts.map((r) => [r.alert!, r]));
      expect(byName.ServiceDown).toMatchObject({ expr: 'up == 0', for: '1m' });
      expect(byName.StuckSagas).toMatchObject({ for: '5m' });
      expect(byName.SagaDurationP95AboveSLO!.expr.trim()).toBe('histogram_quantile(0.95, sum by (le, saga_type) (rate(shop_saga_duration_seconds_bucket{saga_type="place-order"}[5m]))) > 5');
    });
  });

  describe('prometheus.yml', () => {
    it('scrapes each service as its own job every 5 s at 127.0.0.1 and loads the alert rules', () => {
      const config = asMap(parseYamlFile(read(PROMETHEUS_CONFIG), PROMETHEUS_CONFIG));
      expect(config.rule_files).toEqual(['alert-rules.yml']);
      expect(asMap(config.global).scrape_interval).toBe('5s');
      const jobs = asList(config.scrape_configs).map(asMap);
      expect(
        jobs.map((j) => ({ job: j.job_name, interval: j.scrape_interval, path: j.metrics_path, targets: asList(j.static_configs).flatMap((s) => asList(asMap(s).targets)) })),
      ).toEqual(SERVICES.map((job, i) => ({ job, interval: '5s', path: '/metrics', targets: [`127.0.0.1:${4001 + i}`] })));
    });
  });

  describe('the Grafana dashboards', () => {
    it('are the four dashboards, schema 39, every panel on the provisioned Prometheus datasource', () => {
      expect(Object.keys(dashboards).sort()).toEqual(['bus.json', 'overview.json', 'sagas.json', 'service-red.json']);
      const datasources = asList(asMap(parseYamlFile(read(path.join(OBSERVABILITY_DIR, 'grafana/provisioning/datasources/prometheus.yml')))).datasources).map(asMap);
      expect(datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
      const provider = asMap(asList(asMap(parseYamlFile(read(path.join(OBSERVABILITY_DIR, 'grafana/provisioning/dashboards/shop.yml')))).providers)[0]);
      expect(provider).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
      expect(new Set(Object.values(dashboards).map((d) => d.uid)).size).toBe(4);
      for (const [file, d] of Object.entries(dashboards)) {
        expect(d.schemaVersion, file).toBe(39);
        const panels = allPanels(d.panels).filter((p) => p.type !== 'row');
        expect(panels.length, file).toBeGreaterThan(0);
        for (const p of panels) {
          expect(['timeseries', 'stat'], `${file} ${p.title}`).toContain(p.type);
          expect(p.datasource, `${file} ${p.title}`).toEqual({ type: 'prometheus', uid: 'prometheus' });
          expect(p.targets?.length, `${file} ${p.title}`).toBeGreaterThan(0);
          for (const t of p.targets ?? []) expect(t.datasource, `${file} ${p.title}`).toEqual({ type: 'prometheus', uid: 'prometheus' });
        }
        for (const v of d.templating.list) expect(v.datasource?.uid, `${file} $${v.name}`).toBe('prometheus');
      }
      expect(dashboards['service-red.json']!.templating.list).toEqual([expect.objectContaining({ name: 'job', type: 'query', query: expect.objectContaining({ query: 'label_values(up, job)' }) })]);
    });
  });

  describe.skipIf(!promtool)('promtool', () => {
    it('accepts prometheus.yml and the rule file it loads', async () => {
      const { ok, output } = await promtoolCheck('config', PROMETHEUS_CONFIG);
      expect(output).toContain('SUCCESS: 1 rule files found');
      expect(ok, output).toBe(true);
    });

    it('accepts alert-rules.yml, finding the rules the reader here finds', async () => {
      const { ok, output } = await promtoolCheck('rules', ALERT_RULES);
      expect(ok, output).toBe(true);
      // promtool reads the file with Prometheus' YAML parser: the same rules as the yaml package.
      expect(output).toContain(`SUCCESS: ${ruleExpressions(read(ALERT_RULES), ALERT_RULES).length} rules found`);
    });

    it("accepts every dashboard expression as a recording rule (Prometheus' parser and type checks)", async () => {
      const expressions = expressionsOf({ rulesFiles: [] });
      expect(expressions.length).toBeGreaterThan(50);
      const { ok, output, failing } = await promtoolCheckExpressions(expressions);
      expect(failing).toEqual([]);
      expect(ok, output).toBe(true);
      expect(output).toContain(`SUCCESS: ${expressions.length} rules found`);
    });

    it('rejects a config that is not valid', async () => {
      const { ok, output } = await promtoolCheck('config', fixture('bad-prometheus.yml'));
      expect(ok).toBe(false);
      expect(output).toMatch(/not a valid duration string/);
    });

    it('rejects a rule file with a broken expression, naming the rule', async () => {
      const { ok, output } = await promtoolCheck('rules', fixture('bad-alert-rules.yml'));
      expect(ok).toBe(false);
      expect(output).toMatch(/rule 2, "HighHttpErrorRatio": could not parse expression: .*unclosed left parenthesis/);
    });

    it('rejects dashboard expressions that are broken or ill-typed, naming their panels, where the grammar alone accepts the ill-typed one', async () => {
      const known = await catalogueMetricNames();
      const broken = dashboardExpressions(read(fixture('dashboard-broken-expr.json')), 'dashboard-broken-expr.json');
      const illTyped = dashboardExpressions(read(fixture('dashboard-type-error.json')), 'dashboard-type-error.json');
      expect(checkExpressions(illTyped, known)).toEqual([]);
      for (const [expressions, message, title] of [
        [broken, /unclosed left parenthesis/, 'Unclosed parenthesis'],
        [illTyped, /expected type range vector in call to function "rate", got instant vector/, 'Rate of an instant vector'],
      ] as const) {
        const { ok, output, failing } = await promtoolCheckExpressions(expressions);
        expect(ok).toBe(false);
        expect(output).toMatch(message);
        expect(failing.map((e) => e.place)).toEqual([`panel "Details" › "${title}" (A)`]);
      }
    });

    const checkCli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'infra/observability/check-cli.ts', ...args], { cwd: ROOT }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );

    it('npm run observability:check passes on the repository and fails on the broken fixtures, naming each problem', async () => {
      const good = await checkCli();
      expect(good.stdout).toMatch(/✓ promtool check config infra\/observability\/prometheus\.yml/);
      expect(good.stdout).toMatch(/✓ \d+ expressions parse/);
      expect(good.stdout.trim().endsWith('OK'), good.stdout).toBe(true);
      expect(good.code).toBe(0);

      const bad = await checkCli(
        '--config',
        fixture('bad-prometheus.yml'),
        '--rules',
        fixture('bad-alert-rules.yml'),
        '--dashboard',
        fixture('dashboard-type-error.json'),
        '--dashboard',
        fixture('dashboard-unknown-metric.json'),
      );
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/✗ promtool check config .*bad-prometheus\.yml/);
      expect(bad.stdout).toMatch(/✗ promtool check rules .*bad-alert-rules\.yml/);
      expect(bad.stdout).toMatch(/dashboard-type-error\.json: panel "Details" › "Rate of an instant vector" \(A\)/);
      expect(bad.stdout).toMatch(/dashboard-unknown-metric\.json: panel "Details" › "Orders placed" \(A\): unknown metric shop_orders_placed_total/);
      expect(bad.stdout).toMatch(/bad-alert-rules\.yml: alert HighHttpErrorRatio: PromQL syntax error/);
      expect(bad.stdout.trim().endsWith('FAILED')).toBe(true);
    });
  });
});
