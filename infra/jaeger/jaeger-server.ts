/**
 * A real Jaeger v2 (Apache-2.0) for traces: built once from the Go module
 * proxy into a cache (as `infra/kafka` fetches the broker's jars), run with
 * in-memory storage and an OTLP receiver on free ports of 127.0.0.1. No
 * Docker.
 *
 *   const jaeger = new JaegerServer({ dataDir });
 *   await jaeger.start();          // builds once, resolves when its health check is green
 *   jaeger.otlpHttpEndpoint        // http://127.0.0.1:<port>  (OTEL_EXPORTER_OTLP_ENDPOINT)
 *   jaeger.queryUrl                // http://127.0.0.1:<port>  (the UI and /api/traces/<id>)
 *   await jaeger.stop();           // SIGTERM, SIGKILL after a bound
 *
 * The Go module that pins Jaeger and its dependencies is `infra/jaeger/go.mod`
 * (and `go.sum`): Jaeger's own module has `replace` directives, so it cannot
 * be `go install`ed directly; it is a `tool` of this one.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@shop/platform';
import { buildGoBinary } from '../tools/go-build';
import { goCommand, toolCacheDir } from '../tools/tool-cache';

const run = promisify(execFile);

/** The Go module version of Jaeger v2 (its `cmd/jaeger`), pinned in `infra/jaeger/go.mod`. */
export const JAEGER_MODULE_VERSION = 'v1.76.0';
const TOOL = 'github.com/jaegertracing/jaeger/cmd/jaeger';
const MODULE_DIR = import.meta.dirname;

export const JAEGER_INSTALL_HINT = 'install Go 1.24+ (https://go.dev/dl/, or your package manager) so that Jaeger can be built from the Go module proxy';

/** Go is missing: Jaeger cannot be built on this machine. */
export class JaegerUnavailableError extends Error {
  override readonly name = 'JaegerUnavailableError';
  constructor(readonly reason: string) {
    super(`cannot run Jaeger: ${reason}; ${JAEGER_INSTALL_HINT}`);
  }
}

/** Where the built binary is kept: `$SHOP_JAEGER_CACHE`, else `~/.cache/shop-platform/jaeger-<version>`. */
export function jaegerCacheDir(): string {
  return toolCacheDir('SHOP_JAEGER_CACHE', `jaeger-${JAEGER_MODULE_VERSION}`);
}

/** Why Jaeger cannot run here (no binary in the cache and no Go to build it), or undefined. */
export async function jaegerUnavailableReason(): Promise<string | undefined> {
  if (existsSync(path.join(jaegerCacheDir(), 'jaeger'))) return undefined;
  const go = await run(goCommand(), ['version']).catch(() => undefined);
  return go ? undefined : `Jaeger is not built in ${jaegerCacheDir()} and there is no Go toolchain to build it`;
}

/** The Jaeger binary: from the cache, or built once into it (a few minutes the first time). */
export async function ensureJaeger(log: (line: string) => void = () => undefined): Promise<string> {
  const binary = path.join(jaegerCacheDir(), 'jaeger');
  if (existsSync(binary)) return binary;
  const reason = await jaegerUnavailableReason();
  if (reason) throw new JaegerUnavailableError(reason);
  return buildGoBinary({ label: `Jaeger (${TOOL}@${JAEGER_MODULE_VERSION})`, binary, build: { cwd: MODULE_DIR, target: TOOL } }, log);
}

export interface JaegerServerOptions {
  /** Holds the generated configuration and the server's log. */
  dataDir: string;
  /** Traces kept in memory (oldest dropped first). Default 100,000. */
  maxTraces?: number;
  /**
   * How Jaeger shares the machine with the stack it collects from: its nice
   * value (default 10, `SHOP_JAEGER_NICE`) and the Go processors it may use
   * (default 1, `SHOP_JAEGER_GOMAXPROCS`). On one laptop or CI machine the
   * collector then takes the cores the services leave idle, as it would on a
   * host of its own, and catches up from its receive queue; it never decides
   * how fast the stack runs.
   */
  nice?: number;
  goMaxProcs?: number;
  log?: (line: string) => void;
}

const integerFrom = (raw: string | undefined, fallback: number, min: number, max: number): number => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`expected an integer from ${min} to ${max}, got '${raw}'`);
  return n;
};

/** The priority and Go processors Jaeger runs with: the options, else `SHOP_JAEGER_NICE` / `SHOP_JAEGER_GOMAXPROCS`, else 10 and 1. */
export function jaegerScheduling(options: Pick<JaegerServerOptions, 'nice' | 'goMaxProcs'>, env: NodeJS.ProcessEnv = process.env): { nice: number; goMaxProcs: number } {
  return {
    nice: options.nice ?? integerFrom(env.SHOP_JAEGER_NICE, 10, 0, 19),
    goMaxProcs: options.goMaxProcs ?? integerFrom(env.SHOP_JAEGER_GOMAXPROCS, 1, 1, 1024),
  };
}

/** The configuration of an all-in-one Jaeger v2: OTLP in, memory storage, the query API and UI, a health check. */
function configYaml(p: { otlpGrpc: number; otlpHttp: number; queryHttp: number; queryGrpc: number; health: number; maxTraces: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.health}
  jaeger_query:
    # Jaeger tracing its own queries would export to localhost:4317 and wait out a timeout on stop.
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${p.maxTraces}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${p.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export class JaegerServer {
  private child: ChildProcess | undefined;
  private ports: { otlpGrpc: number; otlpHttp: number; queryHttp: number; queryGrpc: number; health: number } | undefined;

  constructor(private readonly options: JaegerServerOptions) {}

  /** OTLP over HTTP (what `OTEL_EXPORTER_OTLP_ENDPOINT` names; traces go to `/v1/traces`). */
  get otlpHttpEndpoint(): string {
    return `http://127.0.0.1:${this.required().otlpHttp}`;
  }

  get otlpGrpcEndpoint(): string {
    return `127.0.0.1:${this.required().otlpGrpc}`;
  }

  /** The UI, and the HTTP query API (`/api/traces/<traceId>`, `/api/services`). */
  get queryUrl(): string {
    return `http://127.0.0.1:${this.required().queryHttp}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private required() {
    if (!this.ports) throw new Error('Jaeger is not started');
    return this.ports;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const log = this.options.log ?? (() => undefined);
    const binary = await ensureJaeger(log);
    await fs.mkdir(this.options.dataDir, { recursive: true });
    const ports = { otlpGrpc: await freePort(), otlpHttp: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort(), health: await freePort() };
    const config = path.join(this.options.dataDir, 'jaeger.yaml');
    await fs.writeFile(config, configYaml({ ...ports, maxTraces: this.options.maxTraces ?? 100_000 }));
    const out = await fs.open(path.join(this.options.dataDir, 'jaeger.log'), 'a');
    // The OTEL_* settings of the caller (a traced stack) are not Jaeger's own:
    // its own telemetry stays off.
    const scheduling = jaegerScheduling(this.options);
    const env = {
      ...process.env,
      OTEL_SDK_DISABLED: 'true',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      GOMAXPROCS: String(scheduling.goMaxProcs),
    };
    const child = spawn(binary, ['--config', config], { stdio: ['ignore', out.fd, out.fd], env });
    await out.close();
    // Lower its priority before it has work (it is only starting): the services come first.
    if (child.pid !== undefined && scheduling.nice > 0) {
      try {
        os.setPriority(child.pid, scheduling.nice);
      } catch (err) {
        log(`could not lower Jaeger's priority (${(err as Error).message}); it runs at the stack's`);
      }
    }
    this.child = child;
    this.ports = ports;
    // Never outlive the process that started it (a crash of the parent skips stop()).
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.off('exit', onExit));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`Jaeger exited (${code ?? signal}) before it was ready; see ${path.join(this.options.dataDir, 'jaeger.log')}`))),
    );
    exited.catch(() => undefined);
    const until = Date.now() + 60_000;
    try {
      for (;;) {
        const ready = await Promise.race([
          fetch(`http://127.0.0.1:${ports.health}/status`).then((r) => r.ok, () => false),
          exited,
        ]);
        if (ready) {
          const query = await fetch(`${this.queryUrl}/api/services`).then((r) => r.ok, () => false);
          if (query) break;
        }
        if (Date.now() > until) throw new Error('Jaeger did not become ready within 60 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    log(`Jaeger ready: UI ${this.queryUrl}, OTLP ${this.otlpHttpEndpoint}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
    if (killed) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
