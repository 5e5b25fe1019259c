import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { findExecutable } from '../tools/tool-cache';
import { freePort } from '@shop/platform';
import { ALERT_RULES } from './promql-expressions';

/** The Prometheus server binary: $PROMETHEUS, else on PATH, else Debian's /usr/bin/prometheus; undefined when there is none. */
export function prometheusPath(): string | undefined {
  return findExecutable('prometheus', 'PROMETHEUS');
}

export interface PrometheusServerOptions {
  /** Holds the generated configuration, the TSDB and the log. */
  dataDir: string;
  /** job name -> `host:port` of a `/metrics` endpoint. */
  targets: Record<string, string>;
  scrapeIntervalSeconds?: number;
}

/**
 * A real Prometheus on a free 127.0.0.1 port, scraping `targets` with the
 * repository's alert rules loaded (the same jobs as
 * `infra/observability/prometheus.yml`, pointed at wherever the stack runs).
 */
export class PrometheusServer {
  private child: ChildProcess | undefined;
  private port: number | undefined;

  constructor(private readonly options: PrometheusServerOptions) {}

  get url(): string {
    if (!this.port) throw new Error('Prometheus is not started');
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const binary = prometheusPath();
    if (!binary) throw new Error('no prometheus binary (install Debian\'s prometheus package, or set PROMETHEUS)');
    await fsp.mkdir(this.options.dataDir, { recursive: true });
    const interval = `${this.options.scrapeIntervalSeconds ?? 1}s`;
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files:',
      `  - ${JSON.stringify(ALERT_RULES)}`,
      'scrape_configs:',
      ...Object.entries(this.options.targets).flatMap(([job, target]) => [
        `  - job_name: ${JSON.stringify(job)}`,
        '    metrics_path: /metrics',
        `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      ]),
    ].join('\n');
    const file = path.join(this.options.dataDir, 'prometheus.yml');
    await fsp.writeFile(file, config + '\n');
    this.port = await freePort();
    const log = fs.openSync(path.join(this.options.dataDir, 'prometheus.log'), 'a');
    this.child = spawn(
      binary,
      [`--config.file=${file}`, `--storage.tsdb.path=${path.join(this.options.dataDir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${this.port}`],
      { stdio: ['ignore', log, log] },
    );
    const exited = new Promise<never>((_, reject) => this.child!.once('exit', (code) => reject(new Error(`prometheus exited with ${code}; see ${path.join(this.options.dataDir, 'prometheus.log')}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`${this.url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error('Prometheus was not ready within 30 s');
      await Promise.race([new Promise((r) => setTimeout(r, 200)), exited]);
    }
  }

  /** An instant query: the API's answer (`status` is `success` or `error`, with `errorType` and `error`). */
  async query(expr: string): Promise<{ status: string; error?: string; errorType?: string; data?: { resultType: string; result: unknown[] } }> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown[] } };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}
