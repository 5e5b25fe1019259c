/** The databases of the local stack: one per service, plus the bus's own. */
export const SERVICE_DATABASES = ['catalog', 'inventory', 'orders', 'coordinator', 'analytics'] as const;
export const BUS_DATABASE = 'bus';

/** The services the launcher runs, each as its own process, with its database and preferred port. */
export const SERVICES = [
  { name: 'catalog-service', folder: 'catalog-service', database: 'catalog', port: 4001 },
  { name: 'inventory-service', folder: 'inventory-service', database: 'inventory', port: 4002 },
  { name: 'order-service', folder: 'order-service', database: 'orders', port: 4003 },
  { name: 'coordinator-service', folder: 'coordinator-service', database: 'coordinator', port: 4004 },
  { name: 'analytics-service', folder: 'analytics-service', database: 'analytics', port: 4005 },
] as const;

/**
 * The event-store variables the launcher gives service `folder`, from its own
 * environment `launcher`: nothing on the Postgres event store (the default:
 * each service's own database, and the environment passes on untouched), and
 * with `EVENT_STORE=eventstoredb` the store, its server and a stream prefix of
 * the service's own, `<EVENTSTORE_STREAM_PREFIX><folder>.`: the services share
 * one server, and a shared prefix would let each read the others' streams as
 * its own (docs/eventstoredb.md §4).
 */
export function serviceEventStoreEnv(folder: string, launcher: NodeJS.ProcessEnv): Record<string, string> {
  if (launcher.EVENT_STORE !== 'eventstoredb') return {};
  return {
    EVENT_STORE: launcher.EVENT_STORE,
    // Unset, the service's config refuses to start and names it.
    ...(launcher.EVENTSTORE_URL ? { EVENTSTORE_URL: launcher.EVENTSTORE_URL } : {}),
    EVENTSTORE_STREAM_PREFIX: `${launcher.EVENTSTORE_STREAM_PREFIX ?? ''}${folder}.`,
  };
}

/** The tracing preload: starts the OpenTelemetry SDK before a service's modules load, when `OTEL_*` variables ask for traces (platform/src/observability). */
export const TRACING_PRELOAD = './platform/src/observability/register-tracing.mjs';

/**
 * How a service is started: node's arguments, relative to the repository
 * root (the working directory). `npm start` runs this for each service, and
 * every container image runs the same command with tracing (the preload does
 * nothing unless `OTEL_*` variables ask for traces); `npm run infra:check`
 * compares the images' CMD with it.
 */
export function serviceCommand(folder: string, options: { tracing: boolean }): string[] {
  return ['--import', 'tsx', ...(options.tracing ? ['--import', TRACING_PRELOAD] : []), serviceEntry(folder)];
}

/** A service's entry point as its command names it (relative to the repository root): how its process is recognised in `/proc/<pid>/cmdline`. */
export function serviceEntry(folder: string): string {
  return `${folder}/src/main.ts`;
}

/** The bus the services use: the Postgres bus (default), or Kafka through a broker the launcher runs. */
export type StackBus =
  | { kind: 'postgres' }
  | {
      kind: 'kafka';
      /** KAFKA_BROKERS as the services get it. */
      brokers: string;
      /** The broker's data directory (`<state>/kafka`); its pid is in `broker.pid` there. */
      dataDir: string;
      port: number;
      controllerPort: number;
    };

export interface StackFile {
  startedAt: string;
  /** The launcher's process (`npm start`): SIGUSR2 to it restarts PostgreSQL. */
  launcher?: { pid: number };
  postgres: { host: string; port: number; pid?: number };
  bus?: StackBus;
  /** `url` over TCP (for tools); `socketUrl`, what the services get, through PostgreSQL's Unix-domain socket. */
  databases: Record<string, { url: string; socketUrl?: string; database: string; user: string }>;
  /** With `--tracing`: where Jaeger's UI and query API and its OTLP receiver are. */
  tracing?: { jaegerUi: string; otlpEndpoint: string };
  /** Base URLs of the running services. */
  services?: Record<string, string>;
}
