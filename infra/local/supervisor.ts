import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceSpec {
  name: string;
  /** Node's arguments, relative to the repository root (`serviceCommand` in stack.ts: tsx, maybe the tracing preload, the entry point). */
  args: readonly string[];
  env: Record<string, string>;
  port: number;
  logFile: string;
}

export interface SupervisorEvents {
  onReady(spec: ServiceSpec, url: string): void;
  onCrash(spec: ServiceSpec, code: number | null, signal: NodeJS.Signals | null, restartInMs: number): void;
}

/**
 * Runs each service as its own OS process (node with tsx's loader, one
 * process per service, so a signal reaches the service itself), writes its
 * JSON log to a file, restarts it with backoff when it dies unexpectedly, and
 * stops them all on request.
 */
/** Restarts in a row that never reach ready before the supervisor gives up on a service. */
const MAX_RESTARTS = 10;

export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly restarts = new Map<string, number>();
  private stopping = false;

  constructor(
    private readonly repoRoot: string,
    private readonly events: SupervisorEvents,
  ) {}

  /**
   * Starts the service and resolves with its URL once it reports ready; a
   * first start that fails rejects. After that, whenever the process dies
   * (ready or not) it is reported and started again with backoff, up to
   * `MAX_RESTARTS` times in a row without becoming ready.
   */
  start(spec: ServiceSpec, timeoutMs = 60_000): Promise<string> {
    return this.launch(spec, timeoutMs, false);
  }

  private launch(spec: ServiceSpec, timeoutMs: number, restarting: boolean): Promise<string> {
    fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const log = fs.createWriteStream(spec.logFile, { flags: 'a' });
    // SHOP_SERVICE_NODE_ARGS: extra node flags for every service (`--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS refuses).
    const extraArgs = (process.env.SHOP_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...extraArgs, ...spec.args], {
      cwd: this.repoRoot,
      env: { ...process.env, ...spec.env, PORT: String(spec.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(spec.name, child);
    child.stderr.pipe(log, { end: false });
    child.stdout.pipe(log, { end: false });
    const url = `http://127.0.0.1:${spec.port}`;
    let exited = false;
    let initialFailure = false;

    child.once('exit', (code, signal) => {
      exited = true;
      log.end();
      if (this.children.get(spec.name) === child) this.children.delete(spec.name);
      if (this.stopping || initialFailure) return;
      const attempt = (this.restarts.get(spec.name) ?? 0) + 1;
      this.restarts.set(spec.name, attempt);
      if (attempt > MAX_RESTARTS) {
        this.events.onCrash(spec, code, signal, -1);
        return;
      }
      const delay = Math.min(500 * 2 ** (attempt - 1), 10_000);
      this.events.onCrash(spec, code, signal, delay);
      setTimeout(() => {
        if (!this.stopping) void this.launch(spec, timeoutMs, true).catch(() => undefined);
      }, delay).unref();
    });

    // Ready means the service answers /readyz (database and bus reachable,
    // consumers joined), whatever its log level.
    return (async () => {
      const deadline = Date.now() + timeoutMs;
      while (!exited && !this.stopping) {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        if (res?.status === 200) {
          this.restarts.set(spec.name, 0);
          this.events.onReady(spec, url);
          return url;
        }
        if (Date.now() > deadline) {
          if (!restarting) initialFailure = true;
          child.kill('SIGKILL');
          throw new Error(`${spec.name} was not ready within ${timeoutMs} ms (see ${spec.logFile})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!restarting) initialFailure = true;
      throw new Error(`${spec.name} exited before it was ready; see ${spec.logFile}`);
    })();
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** SIGTERM to every service (each shuts down gracefully), SIGKILL after the timeout. */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
