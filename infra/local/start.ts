/**
 * npm start [-- --reset] [--data-dir DIR] [--no-demo-data] [--bus postgres|kafka] [--tracing] [--port-base N]
 *
 * Starts the local stack on the embedded default: the embedded PostgreSQL
 * with one database and one role per service plus the bus's database, the
 * platform's schemas migrated, then every built service as its own OS
 * process (with its outbox relay and consumers), restarted if it crashes.
 * Loads the demo catalog on the first start, prints the URLs and an admin and
 * a customer token. Ctrl-C stops the services, then PostgreSQL. Data persists
 * in the data directory unless --reset is given.
 *
 * `--bus kafka` also runs a single-node Kafka broker (infra/kafka, data in
 * `<state>/kafka`, port 9092 if free) and gives the services BUS=kafka and
 * KAFKA_BROKERS instead of the Postgres bus; it stops after the services.
 *
 * With `EVENT_STORE=eventstoredb` and `EVENTSTORE_URL` in its environment, the
 * services keep their events on that EventStoreDB/KurrentDB server (one the
 * launcher does not run), each under its own stream prefix
 * (`<EVENTSTORE_STREAM_PREFIX><service>.`); their databases keep the rest.
 *
 * `--port-base N` moves the preferred ports: the services on N+1..N+5
 * (default 4000: 4001..4005) and the Kafka broker on N+92 (default 9092). A
 * taken port falls back to a free one; a stack that kills its own services
 * (`npm run chaos`) runs apart from the usual ports, so that another stack
 * never takes a port a killed service is about to listen on again.
 *
 * SIGUSR2 restarts the embedded PostgreSQL in place (immediate shutdown,
 * same port and data): a database outage the services ride out by
 * reconnecting, which `npm run chaos` injects; the launcher's pid is in
 * `stack.json` (`launcher.pid`).
 *
 * `--tracing` also runs Jaeger v2 (infra/jaeger, in memory, free ports) and
 * starts every service with the OpenTelemetry SDK exporting OTLP to it
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, sampling everything), and prints the
 * Jaeger UI's address. Without Go (and no Jaeger built yet) it says what to
 * install and starts the rest without tracing. OTEL_* variables already set
 * (a collector of your own) also turn the SDK on, without Jaeger.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  EmbeddedPostgresServer,
  createKnex,
  databaseUrl,
  eventStoreMigrations,
  inboxMigrations,
  migrateBus,
  onShutdownSignal,
  outboxMigrations,
  projectionMigrations,
  provisionDatabase,
  runMigrations,
  signToken,
  tracingRequested,
} from '@shop/platform';
import { JAEGER_INSTALL_HINT, JaegerServer, jaegerUnavailableReason } from '../jaeger/jaeger-server';
import { KAFKA_VERSION, KafkaBroker, KafkaUnavailableError, stopKafkaOrphan } from '../kafka/kafka-broker';
import { loadDemoAlertRules, loadDemoData } from './demo-data';
import { BUS_DATABASE, SERVICES, SERVICE_DATABASES, serviceCommand, serviceEventStoreEnv, type StackBus, type StackFile } from './stack';
import { Supervisor } from './supervisor';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    reset: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'no-demo-data': { type: 'boolean', default: false },
    bus: { type: 'string', default: 'postgres' },
    tracing: { type: 'boolean', default: false },
    'port-base': { type: 'string' },
  },
});
if (values.bus !== 'postgres' && values.bus !== 'kafka') {
  console.error(`--bus must be postgres or kafka, not ${values.bus}`);
  process.exit(2);
}
const busKind: StackBus['kind'] = values.bus;
const portBase = values['port-base'] === undefined ? undefined : Number(values['port-base']);
if (portBase !== undefined && !(Number.isInteger(portBase) && portBase >= 1024 && portBase <= 65_000)) {
  console.error(`--port-base must be a port number from 1024 to 65000, not ${values['port-base']}`);
  process.exit(2);
}

async function stateDirectory(): Promise<string> {
  if (values['data-dir']) return path.resolve(values['data-dir']);
  const preferred = path.join(repoRoot, '.data');
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || (await traversableByOthers(repoRoot))) return preferred;
  // Postgres never runs as root: it runs as the `postgres` user, which cannot
  // enter a checkout under a private directory.
  const tag = createHash('sha256').update(repoRoot).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `shop-platform-${tag}`);
}

async function traversableByOthers(dir: string): Promise<boolean> {
  for (let d = dir; ; d = path.dirname(d)) {
    if (((await fs.stat(d)).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) return true;
  }
}

async function credentials(stateDir: string): Promise<Record<string, string>> {
  const file = path.join(stateDir, 'credentials.json');
  let stored: Record<string, string> = {};
  try {
    stored = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, string>;
  } catch {
    // first start
  }
  for (const db of [...SERVICE_DATABASES, BUS_DATABASE]) stored[db] ??= randomBytes(18).toString('base64url');
  // The stack's JWT signing key: random per data directory, handed to the
  // services through their environment (never a default baked into code).
  stored.authJwtSecret ??= randomBytes(32).toString('base64url');
  await fs.writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  return stored;
}

async function main(): Promise<void> {
  const stateDir = await stateDirectory();
  const kafkaDir = path.join(stateDir, 'kafka');
  if (values.reset) {
    await stopKafkaOrphan(kafkaDir);
    await fs.rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
  }
  await fs.mkdir(stateDir, { recursive: true, mode: 0o755 });
  const logFile = await fs.open(path.join(stateDir, 'postgres.log'), 'a');
  const server = new EmbeddedPostgresServer({
    dataDir: path.join(stateDir, 'postgres'),
    socketDir: socketDirectoryFor(stateDir),
    reset: values.reset,
    // SHOP_POSTGRES_SETTINGS="name=value,...": extra server settings (bench:saga's --pg-statements loads pg_stat_statements).
    settings: Object.fromEntries(
      (process.env.SHOP_POSTGRES_SETTINGS ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
    ),
    log: (line) => void logFile.write(line + '\n'),
  });
  const supervisor = new Supervisor(repoRoot, {
    onReady: (spec, url) => console.log(`  ${spec.name.padEnd(20)} ${url}   (log: ${spec.logFile})`),
    onCrash: (spec, code, signal, delay) =>
      console.error(
        delay < 0
          ? `! ${spec.name} could not be restarted; see ${spec.logFile}`
          : `! ${spec.name} crashed (exit ${code ?? signal}); restarting in ${delay} ms; see ${spec.logFile}`,
      ),
  });
  const broker =
    busKind === 'kafka'
      ? new KafkaBroker({
          dataDir: kafkaDir,
          port: await portFor(portBase === undefined ? 9092 : portBase + 92),
          log: (line) => console.log(`  kafka: ${line}`),
          onUnexpectedExit: (code, signal) =>
            console.error(`! the Kafka broker exited (${code ?? signal}); the services wait for it to come back; see ${path.join(kafkaDir, 'server.log')}`),
        })
      : undefined;
  let jaeger: JaegerServer | undefined;
  if (values.tracing) {
    const unavailable = await jaegerUnavailableReason();
    if (unavailable) console.error(`! --tracing: ${unavailable}; ${JAEGER_INSTALL_HINT}. Starting the stack without tracing.`);
    else jaeger = new JaegerServer({ dataDir: path.join(stateDir, 'jaeger'), log: (line) => console.log(`  jaeger: ${line}`) });
  }
  // Services first (they flush to the bus and export their last spans), then Jaeger, the broker, then PostgreSQL.
  const stopStack = async () => {
    await supervisor.stopAll();
    await jaeger?.stop();
    await broker?.stop();
    await server.stop();
  };
  cleanup = stopStack;
  onShutdownSignal(async () => {
    shuttingDown = true;
    console.log('\nstopping...');
    await stopStack();
    await logFile.close();
    console.log('stopped');
  });

  // The broker's JVM starts while PostgreSQL starts and the databases are migrated.
  const brokerReady = broker?.start();
  brokerReady?.catch(() => undefined);
  const jaegerReady = jaeger?.start();
  jaegerReady?.catch(() => undefined);
  const admin = await server.start();
  if (server.adopted) console.log(`adopted the PostgreSQL server a killed earlier run left on port ${admin.port}`);
  const passwords = await credentials(stateDir);
  const stack: StackFile = {
    startedAt: new Date().toISOString(),
    launcher: { pid: process.pid },
    postgres: { host: admin.host, port: admin.port },
    bus: { kind: 'postgres' },
    databases: {},
  };
  // The services reach PostgreSQL through its Unix-domain socket (same passwords, half the CPU per query).
  const socketDir = await server.socketDirectory();
  const viaSocket = socketDir ? `?host=${encodeURIComponent(socketDir)}` : '';
  for (const name of [...SERVICE_DATABASES, BUS_DATABASE]) {
    const conn = await provisionDatabase(admin, name, passwords[name]);
    const knex = createKnex(conn, { max: 1 });
    try {
      if (name === BUS_DATABASE) {
        await migrateBus(knex);
      } else {
        await runMigrations(knex, 'event_store', eventStoreMigrations);
        await runMigrations(knex, 'projections', projectionMigrations);
        await runMigrations(knex, 'outbox', outboxMigrations);
        await runMigrations(knex, 'inbox', inboxMigrations);
      }
    } finally {
      await knex.destroy();
    }
    stack.databases[name] = {
      url: databaseUrl(conn),
      ...(viaSocket ? { socketUrl: `${databaseUrl(conn)}${viaSocket}` } : {}),
      database: conn.database,
      user: conn.user,
    };
  }
  const auth = { secret: passwords.authJwtSecret!, issuer: 'urn:shop:auth', audience: 'urn:shop:api' };
  const serviceUrl = (name: string) => stack.databases[name]!.socketUrl ?? stack.databases[name]!.url;
  const busUrl = serviceUrl(BUS_DATABASE);
  let busEnv: Record<string, string> = { BUS: 'postgres' };
  if (broker) {
    await brokerReady;
    stack.bus = { kind: 'kafka', brokers: broker.brokers, dataDir: broker.dataDir, port: broker.port!, controllerPort: broker.controllerPort! };
    busEnv = { BUS: 'kafka', KAFKA_BROKERS: broker.brokers };
  }
  let tracingEnv: Record<string, string> = {};
  if (jaeger) {
    await jaegerReady;
    stack.tracing = { jaegerUi: jaeger.queryUrl, otlpEndpoint: jaeger.otlpHttpEndpoint };
    tracingEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint, OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on' };
  }
  // The SDK preload, for Jaeger or for OTEL_* variables the user set (tracing-env.ts decides).
  const traced = jaeger !== undefined || tracingRequested(process.env);
  console.log(`
Local stack (embedded default${broker ? ', Kafka bus' : ''}${traced ? ', tracing' : ''})
  PostgreSQL ${admin.host}:${admin.port}   data: ${path.join(stateDir, 'postgres')}${
    broker ? `\n  Kafka ${KAFKA_VERSION} ${broker.brokers}   data: ${broker.dataDir}   (log: ${broker.logFile})` : ''
  }${jaeger ? `\n  Jaeger UI ${jaeger.queryUrl}   OTLP ${jaeger.otlpHttpEndpoint}   (traces in memory; log: ${path.join(stateDir, 'jaeger', 'jaeger.log')})` : ''}
  databases (one role each, reachable by that role only):
${Object.entries(stack.databases)
  .map(([name, d]) => `    ${name.padEnd(12)} ${d.url}`)
  .join('\n')}
  services:`);

  const urls: Record<string, string> = {};
  for (const service of SERVICES) {
    const entry = path.join(repoRoot, service.folder, 'src', 'main.ts');
    if (!existsSync(entry)) {
      console.log(`  ${service.name.padEnd(20)} not built yet`);
      continue;
    }
    urls[service.name] = await supervisor.start({
      name: service.name,
      args: serviceCommand(service.folder, { tracing: traced }),
      port: await portFor(portBase === undefined ? service.port : portBase + (service.port - 4000)),
      logFile: path.join(stateDir, 'logs', `${service.name}.log`),
      env: {
        ...tracingEnv,
        ...(traced ? { OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME ?? service.name } : {}),
        SERVICE_NAME: service.name,
        HOST: '127.0.0.1',
        DATABASE_URL: serviceUrl(service.database),
        // With Kafka the bus database stays provisioned but unused.
        BUS_DATABASE_URL: busUrl,
        ...busEnv,
        ...serviceEventStoreEnv(service.folder, process.env),
        AUTH_JWT_SECRET: auth.secret,
        AUTH_ISSUER: auth.issuer,
        AUTH_AUDIENCE: auth.audience,
        SHOP_ENV: 'development',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
    });
  }
  stack.services = urls;
  await fs.writeFile(path.join(stateDir, 'stack.json'), JSON.stringify(stack, null, 2), { mode: 0o600 });

  process.on('SIGUSR2', () => {
    if (shuttingDown) return;
    const began = Date.now();
    server.restart('immediate').then(
      () => console.log(`PostgreSQL restarted (immediate shutdown) in ${Date.now() - began} ms`),
      (err: unknown) => console.error(`! PostgreSQL restart failed: ${(err as Error).message}`),
    );
  });

  const adminToken = await signToken({ sub: 'admin', roles: ['admin'], ttl: '12h' }, auth);
  const customerToken = await signToken({ sub: 'customer-1', roles: ['customer'], ttl: '12h' }, auth);
  const demoMarker = path.join(stateDir, 'demo-data.json');
  if (!values['no-demo-data'] && urls['catalog-service'] && urls['inventory-service'] && !existsSync(demoMarker)) {
    const loaded = await loadDemoData({ catalog: urls['catalog-service'], inventory: urls['inventory-service'] }, adminToken);
    const rules = urls['analytics-service'] ? await loadDemoAlertRules(urls['analytics-service'], adminToken) : 0;
    await fs.writeFile(demoMarker, JSON.stringify({ loadedAt: new Date().toISOString(), products: loaded, alertRules: rules }));
    console.log(`  demo data: ${loaded} products with stock, ${rules} alert rules (first start only)`);
  }
  const dashboard = urls['analytics-service'] ? `\n  dashboard: ${urls['analytics-service']}/dashboard#token=${adminToken}` : '';

  console.log(`${dashboard}
  admin token    (12 h): ${adminToken}
  customer token (12 h, subject customer-1): ${customerToken}
  more: AUTH_JWT_SECRET=$(node -p "require('${path.join(stateDir, 'credentials.json')}').authJwtSecret") SHOP_ENV=development npm run -s token -- --role customer --sub alice
  connection details: ${path.join(stateDir, 'stack.json')}${jaeger ? `\n  traces: ${jaeger.queryUrl} (every response's traceresponse header names its trace: ${jaeger.queryUrl}/trace/<trace id>)` : ''}

ready. Ctrl-C stops everything.`);
  setInterval(() => undefined, 1 << 30);
}

/**
 * Where PostgreSQL's socket lives: `<state>/run`, or a short path under the
 * temporary directory when that would be too long for a socket path.
 */
function socketDirectoryFor(stateDir: string): string {
  const preferred = path.join(stateDir, 'run');
  if (preferred.length <= 80) return preferred;
  return path.join(os.tmpdir(), `shop-pg-${createHash('sha256').update(stateDir).digest('hex').slice(0, 10)}`);
}

/** The preferred port if it is free, else any free port. */
async function portFor(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const address = srv.address();
        srv.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0))!;
}

/** Set once Ctrl-C arrives: a start interrupted by it is not a failure, and the shutdown handler exits. */
let shuttingDown = false;
/** Stops what has been started so far, so a failed start leaves no process behind. */
let cleanup: (() => Promise<void>) | undefined;

main().catch(async (err: unknown) => {
  if (shuttingDown) return;
  console.error(err instanceof KafkaUnavailableError ? `--bus kafka: ${err.message}` : err instanceof Error ? err.message : err);
  await cleanup?.().catch(() => undefined);
  process.exit(1);
});
