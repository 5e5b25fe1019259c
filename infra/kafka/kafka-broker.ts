/**
 * A single-node Apache Kafka broker (KRaft: broker and controller in one JVM)
 * run from Kafka's own jars on Maven Central and the machine's JDK. No Docker.
 *
 *   const broker = new KafkaBroker({ dataDir });
 *   await broker.start();           // fetches the jars once, formats once, resolves when ready
 *   broker.brokers                  // '127.0.0.1:<port>'
 *   await broker.stop();            // SIGTERM, SIGKILL after a bound
 *
 * The JVM runs in its own process group, so a Ctrl-C in a terminal reaches
 * the Node launcher, which stops its clients before the broker. It never
 * outlives its parent: an exit hook stops it, a watchdog stops it when the
 * parent dies without running hooks, and the pid file lets the next start on
 * the same data directory stop one that survived anyway.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { isProcessAlive } from '@shop/platform';
import { toolCacheDir } from '../tools/tool-cache';

const execFileAsync = promisify(execFile);

export const KAFKA_VERSION = '3.9.2';
const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const MIN_JAVA = 17;
const READY_LINE = 'Kafka Server started';

export const KAFKA_INSTALL_HINT =
  `install a JDK ${MIN_JAVA}+ and Maven (Debian/Ubuntu: apt-get install openjdk-${MIN_JAVA}-jdk-headless maven; ` +
  'macOS: brew install openjdk@17 maven)';

/** Java or Maven is missing (or too old): no broker can run on this machine. */
export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError';
  constructor(readonly reason: string) {
    super(`cannot run a Kafka broker: ${reason}; ${KAFKA_INSTALL_HINT}`);
  }
}

// The Kafka pom declares no logging backend; the binary distribution ships
// these two, which also serve the log4j 1 API that core calls directly.
const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.shop</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
`;

// Everything goes to <dataDir>/server.log; the KafkaRaftServer logger also
// goes to stdout, so readiness is read from this run's output only (the file
// is appended to across restarts).
const LOG4J = `log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=\${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO, stdout
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
`;

/** Where the broker's runtime jars are cached: `$SHOP_KAFKA_CACHE`, else `~/.cache/shop-platform/kafka-<version>`. */
export function kafkaCacheDir(): string {
  return toolCacheDir('SHOP_KAFKA_CACHE', `kafka-${KAFKA_VERSION}`);
}

function libsDir(): string {
  return path.join(kafkaCacheDir(), 'libs');
}

function javaCommand(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

async function javaMajorVersion(): Promise<number | undefined> {
  try {
    const { stderr, stdout } = await execFileAsync(javaCommand(), ['-version'], { timeout: 30_000 });
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr + stdout);
    if (!match) return undefined;
    // Java 8 and older report "1.8.0_…".
    return match[1] === '1' ? Number(match[2]) : Number(match[1]);
  } catch {
    return undefined;
  }
}

async function hasMaven(): Promise<boolean> {
  try {
    await execFileAsync('mvn', ['-v'], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why no broker can run here, or undefined when one can: Java 17+ is always
 * needed; Maven only until the jars are cached.
 */
export async function kafkaUnavailableReason(): Promise<string | undefined> {
  const major = await javaMajorVersion();
  if (major === undefined) return `no \`java\` found (${process.env.JAVA_HOME ? `JAVA_HOME=${process.env.JAVA_HOME}` : 'not on PATH'})`;
  if (major < MIN_JAVA) return `\`java\` is version ${major}; Kafka ${KAFKA_VERSION} here needs ${MIN_JAVA} or newer`;
  if (!existsSync(path.join(libsDir(), '.complete')) && !(await hasMaven())) {
    return `no \`mvn\` on PATH to fetch Kafka ${KAFKA_VERSION}'s jars from Maven Central (once, into ${libsDir()})`;
  }
  return undefined;
}

/**
 * Resolves Kafka's runtime classpath from Maven Central into the cache once;
 * later calls return at once. Safe across processes: each fetch builds a
 * private directory, marks it complete and renames it into place, so a reader
 * only ever sees a complete set (a fetch that loses the race discards its
 * copy). A lock directory keeps concurrent callers from running Maven twice.
 */
export async function ensureKafkaJars(log: (line: string) => void = () => undefined): Promise<{ libs: string; fetchedMs?: number }> {
  const root = kafkaCacheDir();
  const libs = libsDir();
  if (existsSync(path.join(libs, '.complete'))) return { libs };
  const reason = await kafkaUnavailableReason();
  if (reason) throw new KafkaUnavailableError(reason);
  await fs.mkdir(root, { recursive: true });
  const release = await acquireLock(path.join(root, 'fetch.lock'), 10 * 60_000);
  try {
    if (existsSync(path.join(libs, '.complete'))) return { libs };
    const started = Date.now();
    log(`fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs} (once)`);
    await removeStaleStaging(root);
    const staging = path.join(root, `staging-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(staging);
    try {
      await fs.writeFile(path.join(staging, 'pom.xml'), POM);
      const out = path.join(staging, 'libs');
      await run('mvn', [
        '-q',
        '-B',
        '-f',
        path.join(staging, 'pom.xml'),
        `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${out}`,
      ]);
      const jars = (await fs.readdir(out)).filter((f) => f.endsWith('.jar'));
      if (!jars.includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) throw new Error(`Maven finished but ${out} holds no kafka_2.13-${KAFKA_VERSION}.jar`);
      await fs.writeFile(path.join(out, '.complete'), `${jars.length} jars\n`);
      // An incomplete libs directory can only come from an older layout; the
      // marker check above means it is not in use.
      if (existsSync(libs) && !existsSync(path.join(libs, '.complete'))) await fs.rm(libs, { recursive: true, force: true });
      await fs.rename(out, libs).catch((err: NodeJS.ErrnoException) => {
        if (!existsSync(path.join(libs, '.complete'))) throw err;
      });
      const fetchedMs = Date.now() - started;
      log(`fetched ${jars.length} jars in ${fetchedMs} ms`);
      return { libs, fetchedMs };
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  } finally {
    await release();
  }
}

/** Staging directories of fetches whose process died. */
async function removeStaleStaging(root: string): Promise<void> {
  for (const name of await fs.readdir(root)) {
    const pid = /^staging-(\d+)-/.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) await fs.rm(path.join(root, name), { recursive: true, force: true });
  }
}

async function acquireLock(dir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, 'pid'), String(process.pid));
      return () => fs.rm(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(path.join(dir, 'pid'), 'utf8').catch(() => '0'));
      // A dead owner's lock is taken over. Two waiters taking it over at once
      // only cost a second Maven run: the rename above keeps the cache whole.
      if (owner > 0 && !isProcessAlive(owner)) await fs.rm(dir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for another process fetching Kafka's jars (${dir})`, { cause: err });
      await sleep(250);
    }
  }
}

export interface KafkaBrokerOptions {
  /** Holds server.properties, server.log, the pid file and the log segments (kraft-logs/). Kept across starts. */
  dataDir: string;
  /** PLAINTEXT port on 127.0.0.1. Default: the port of the previous run in this data directory if free, else a free one. */
  port?: number;
  /** CONTROLLER port on 127.0.0.1; chosen like `port`. */
  controllerPort?: number;
  /** Extra or overriding server.properties entries. */
  settings?: Record<string, string | number>;
  /** Maximum heap; 512 MB serves tests and a local stack. */
  heapMb?: number;
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  /** Progress lines (fetching, formatting, orphans stopped). */
  log?: (line: string) => void;
  /** The JVM exited without `stop()` or `kill()` (crashed, or stopped from outside). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface KafkaBrokerTimings {
  fetchMs?: number;
  formatMs?: number;
  startToReadyMs?: number;
  stopMs?: number;
}

interface Running {
  child: ChildProcess;
  watchdog: ChildProcess | undefined;
  /** Resolves once the JVM has exited and its pid file and watchdog are dealt with. */
  settled: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: boolean;
  expectedExit: boolean;
}

type AbortSignalName = 'SIGTERM' | 'SIGKILL';

/** Live brokers of this process, stopped by the exit hook. */
const live = new Set<KafkaBroker>();
let exitHookInstalled = false;

export class KafkaBroker {
  readonly dataDir: string;
  private portValue: number | undefined;
  private controllerPortValue: number | undefined;
  private readonly explicitPorts: boolean;
  private running: Running | undefined;
  private starting: Promise<string> | undefined;
  /** Set while `start()` runs: stops it early (before the JVM, or the JVM with this signal). */
  private abortStart: ((signal: AbortSignalName) => void) | undefined;
  private readonly log: (line: string) => void;
  readonly timings: KafkaBrokerTimings = {};

  constructor(private readonly options: KafkaBrokerOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.portValue = options.port;
    this.controllerPortValue = options.controllerPort;
    this.explicitPorts = options.port !== undefined;
    this.log = options.log ?? (() => undefined);
  }

  /** `127.0.0.1:<port>` (the bootstrap list for clients); known once `start()` has chosen the port. */
  get brokers(): string {
    if (this.portValue === undefined) throw new Error('the Kafka broker has no port yet: call start()');
    return `127.0.0.1:${this.portValue}`;
  }

  get port(): number | undefined {
    return this.portValue;
  }

  get controllerPort(): number | undefined {
    return this.controllerPortValue;
  }

  /** The JVM's pid while it runs. */
  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  get pidFile(): string {
    return path.join(this.dataDir, 'broker.pid');
  }

  get logFile(): string {
    return path.join(this.dataDir, 'server.log');
  }

  /**
   * Starts the broker (again, after a stop or kill, on the same data
   * directory and ports) and resolves with `brokers` once it is ready.
   */
  start(): Promise<string> {
    if (this.starting) return this.starting;
    if (this.running) return Promise.resolve(this.brokers);
    this.starting = this.startOnce().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startOnce(): Promise<string> {
    let aborted = false;
    const abortBeforeSpawn = () => (aborted = true);
    this.abortStart = abortBeforeSpawn;
    try {
      const { libs, fetchedMs } = await ensureKafkaJars(this.log);
      if (fetchedMs !== undefined) this.timings.fetchMs = fetchedMs;
      await fs.mkdir(this.dataDir, { recursive: true });
      await stopKafkaOrphan(this.dataDir, this.log);
      await fs.writeFile(path.join(this.dataDir, 'log4j.properties'), LOG4J);
      for (let attempt = 1; ; attempt++) {
        // spawnBroker installs the JVM's own abort handler; a retry goes back to this one.
        this.abortStart = abortBeforeSpawn;
        if (aborted) throw new Error('the Kafka broker was stopped before it was ready');
        await this.choosePorts();
        await fs.writeFile(this.propertiesFile, this.serverProperties());
        await this.formatIfNeeded(libs);
        if (aborted) throw new Error('the Kafka broker was stopped before it was ready');
        try {
          await this.spawnBroker(libs);
          return this.brokers;
        } catch (err) {
          const portTaken = err instanceof BrokerStartError && /BindException|Address already in use/.test(err.logTail);
          if (!portTaken || this.explicitPorts || attempt >= 3) throw err;
          this.portValue = undefined;
          this.controllerPortValue = undefined;
        }
      }
    } finally {
      this.abortStart = undefined;
    }
  }

  private get propertiesFile(): string {
    return path.join(this.dataDir, 'server.properties');
  }

  private async choosePorts(): Promise<void> {
    const previous = await fs.readFile(this.propertiesFile, 'utf8').catch(() => '');
    const previousPort = (name: string) => Number(new RegExp(`${name}://127\\.0\\.0\\.1:(\\d+)`).exec(previous)?.[1] ?? 0);
    this.portValue ??= await preferredPort(previousPort('PLAINTEXT'));
    this.controllerPortValue ??= await preferredPort(previousPort('CONTROLLER'), this.portValue);
  }

  private serverProperties(): string {
    const settings: Record<string, string | number> = {
      'process.roles': 'broker,controller',
      'node.id': 1,
      // Static voters: `format` needs no --standalone (that is the dynamic KIP-853 quorum).
      'controller.quorum.voters': `1@127.0.0.1:${this.controllerPortValue}`,
      listeners: `PLAINTEXT://127.0.0.1:${this.portValue},CONTROLLER://127.0.0.1:${this.controllerPortValue}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${this.portValue}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'PLAINTEXT',
      'controller.listener.names': 'CONTROLLER',
      'log.dirs': path.join(this.dataDir, 'kraft-logs'),
      'num.partitions': 8,
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
      'offsets.topic.replication.factor': 1,
      // 8 instead of 50: a cheaper first coordinator lookup and restart.
      'offsets.topic.num.partitions': 8,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 8,
      // A first consumer group joins in tens of milliseconds instead of 3 s.
      'group.initial.rebalance.delay.ms': 0,
      // Topics are created by the bus adapter with their partition count, never by a stray client.
      'auto.create.topics.enable': 'false',
      // 4 MiB: a message over the consumers' 1 MiB limit (platform/src/messaging/message-processor.ts) still
      // reaches them, and its dead letter (the message with dlq-* headers) its dead-letter topic.
      'message.max.bytes': 4_194_304,
      ...this.options.settings,
    };
    return Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')
      .concat('\n');
  }

  private jvmArgs(libs: string): string[] {
    const heap = this.options.heapMb ?? 512;
    return [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      // Serial GC and C1 only: 30-40% faster start on a small machine, ample for a test broker.
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-XX:-UsePerfData',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${this.dataDir}`,
      `-Dlog4j.configuration=file:${path.join(this.dataDir, 'log4j.properties')}`,
      '-cp',
      `${libs}/*`,
    ];
  }

  private async formatIfNeeded(libs: string): Promise<void> {
    if (existsSync(path.join(this.dataDir, 'kraft-logs', 'meta.properties'))) return;
    const started = Date.now();
    // Kafka's Uuid text form (what `StorageTool random-uuid` prints), without a JVM start.
    // A Kafka cluster id is 16 bytes in base64url; one that starts with '-' would read as an option to the tool.
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    await run(javaCommand(), [...this.jvmArgs(libs), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', this.propertiesFile]);
    this.timings.formatMs = Date.now() - started;
    this.log(`formatted ${path.join(this.dataDir, 'kraft-logs')} in ${this.timings.formatMs} ms`);
  }

  private async spawnBroker(libs: string): Promise<void> {
    const logOffset = await fs.stat(this.logFile).then((s) => s.size).catch(() => 0);
    const started = Date.now();
    const child = spawn(javaCommand(), [...this.jvmArgs(libs), 'kafka.Kafka', this.propertiesFile], {
      cwd: this.dataDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A process that never started emits no 'exit'.
      child.once('error', () => child.pid === undefined && resolve({ code: null, signal: null }));
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const running: Running = { child, watchdog: undefined, settled: exited, ready: false, expectedExit: false };
    this.running = running;
    live.add(this);
    installExitHook();
    if (child.pid !== undefined) {
      await fs.writeFile(this.pidFile, `${child.pid}\n`);
      running.watchdog = spawnWatchdog(child.pid, this.dataDir);
    }
    running.settled = exited.then(async ({ code, signal }) => {
      running.watchdog?.kill('SIGKILL');
      live.delete(this);
      if (this.running === running) this.running = undefined;
      // Another broker may own the data directory by now (a test restarting it after stopping this one from outside).
      await removeIfContains(this.pidFile, String(child.pid)).catch(() => undefined);
      if (running.ready && !running.expectedExit) this.options.onUnexpectedExit?.(code, signal);
      return { code, signal };
    });

    const lines = createInterface({ input: child.stdout! });
    const readyTimeoutMs = this.options.readyTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    let abortedWith: AbortSignalName | undefined;
    const outcome = await new Promise<'ready' | 'timeout' | 'aborted' | { code: number | null; signal: NodeJS.Signals | null } | Error>(
      (resolve) => {
        lines.on('line', (line) => {
          if (line.includes(READY_LINE)) resolve('ready');
        });
        timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
        this.abortStart = (signal) => {
          abortedWith = signal;
          resolve('aborted');
        };
        void exited.then(resolve);
        void spawnError.then(resolve);
      },
    );
    clearTimeout(timer);
    if (outcome === 'ready') {
      running.ready = true;
      this.timings.startToReadyMs = Date.now() - started;
      // Keep draining stdout, but let the parent exit without stopping us first (the exit hook does that).
      child.unref();
      for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
      return;
    }
    running.expectedExit = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(abortedWith ?? 'SIGKILL');
      const kill = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 30_000);
      await running.settled;
      clearTimeout(kill);
    }
    if (outcome === 'aborted') throw new Error('the Kafka broker was stopped before it was ready');
    const tail = await readTail(this.logFile, logOffset);
    const what =
      outcome === 'timeout'
        ? `was not ready within ${readyTimeoutMs} ms`
        : outcome instanceof Error
          ? `could not be started (${outcome.message})`
          : `exited (${outcome.code ?? outcome.signal}) before it was ready`;
    throw new BrokerStartError(`the Kafka broker on ${this.dataDir} ${what}; ${this.logFile} ends with:\n${tail}\n${stderr.trim()}`, tail + stderr);
  }

  /**
   * SIGTERM, then waits for the JVM to exit (a clean shutdown exits with 143);
   * SIGKILL after `stopTimeoutMs`. Stops a start in progress too.
   */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stopMs: number }> {
    const started = Date.now();
    this.abortStart?.('SIGTERM');
    await this.starting?.catch(() => undefined);
    const running = this.running;
    if (!running) return { code: null, signal: null, stopMs: 0 };
    running.expectedExit = true;
    // Hold the event loop open until the exit is seen (the child is unref'd once ready).
    running.child.ref();
    running.child.kill('SIGTERM');
    const kill = setTimeout(() => running.child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 30_000);
    const result = await running.settled;
    clearTimeout(kill);
    this.timings.stopMs = Date.now() - started;
    return { ...result, stopMs: this.timings.stopMs };
  }

  /** SIGKILL, as a crash would (fault tests); the next start recovers the logs. */
  async kill(): Promise<void> {
    this.abortStart?.('SIGKILL');
    const running = this.running;
    if (running) {
      running.expectedExit = true;
      running.child.ref();
      running.child.kill('SIGKILL');
      await running.settled;
    }
    await this.starting?.catch(() => undefined);
  }
}

class BrokerStartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
  }
}

/**
 * A broker that a dead parent left running on `dataDir` (found through its pid
 * file and checked against /proc): SIGTERM, SIGKILL after 30 s. Two brokers
 * cannot share a data directory anyway.
 */
export async function stopKafkaOrphan(dataDir: string, log: (line: string) => void = () => undefined): Promise<void> {
  const pidFile = path.join(path.resolve(dataDir), 'broker.pid');
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (isProcessAlive(pid) && isBrokerOf(pid, path.resolve(dataDir))) {
    log(`stopping the Kafka broker (pid ${pid}) an earlier run left on ${dataDir}`);
    await stopPid(pid, 30_000);
  }
  await fs.rm(pidFile, { force: true });
}

/** Pids of the Kafka JVMs running on `dataDir` (read from /proc; empty where there is none). */
export function kafkaBrokerPids(dataDir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const name of entries) {
    if (/^\d+$/.test(name) && isBrokerOf(Number(name), path.resolve(dataDir))) pids.push(Number(name));
  }
  return pids;
}

function isBrokerOf(pid: number, dataDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.includes('kafka.Kafka') && args.includes(`-Dkafka.logs.dir=${dataDir}`);
  } catch {
    // No procfs (macOS): trust the pid file.
    return os.platform() !== 'linux' && isProcessAlive(pid);
  }
}

/**
 * A shell that holds a pipe from this process: when this process dies, even
 * by SIGKILL, the pipe closes and the shell stops the broker (SIGTERM, then
 * SIGKILL after 30 s). Its own process group keeps a terminal's Ctrl-C from
 * taking it down before the launcher has stopped the broker in order.
 */
function spawnWatchdog(pid: number, dataDir: string): ChildProcess | undefined {
  const script = [
    "trap '' INT HUP",
    'while read -r _; do :; done',
    'tr "\\0" "\\n" < /proc/$1/cmdline 2>/dev/null | grep -qxF -e "-Dkafka.logs.dir=$2" || exit 0',
    'kill -TERM "$1" 2>/dev/null || exit 0',
    'i=0',
    'while kill -0 "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done',
    'kill -KILL "$1" 2>/dev/null',
  ].join('\n');
  if (os.platform() !== 'linux') return undefined;
  const watchdog = spawn('sh', ['-c', script, 'kafka-broker-watchdog', String(pid), dataDir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog.stdin?.on('error', () => undefined);
  return watchdog;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work is possible here: the broker shuts down on its own after SIGTERM.
  process.once('exit', () => {
    for (const broker of live) {
      const pid = broker.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  });
}

async function removeIfContains(file: string, content: string): Promise<void> {
  if ((await fs.readFile(file, 'utf8').catch(() => '')).trim() === content) await fs.rm(file, { force: true });
}

async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isProcessAlive(pid)) await sleep(50);
}

async function readTail(file: string, from: number, lines = 40): Promise<string> {
  try {
    const handle = await fs.open(file);
    try {
      const { size } = await handle.stat();
      const start = Math.max(from, size - 64 * 1024);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '(no log)';
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.slice(-4).join(' ')} failed (${code ?? signal}):\n${out.trim()}`)),
    );
  });
}

/** `preferred` if it is free on 127.0.0.1 (and not `avoid`), else a free port. */
export async function preferredPort(preferred: number, avoid?: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const address = srv.address();
        srv.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  if (preferred > 0 && preferred !== avoid) {
    const port = await tryListen(preferred);
    if (port !== undefined) return port;
  }
  for (;;) {
    const port = await tryListen(0);
    if (port !== undefined && port !== avoid) return port;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
