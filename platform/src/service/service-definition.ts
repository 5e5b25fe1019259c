import type { Container } from 'inversify';
import type { Knex } from 'knex';
import type { OutgoingMessage, TopicSpec } from '../bus/bus';
import { busConfigShape } from '../bus/create-bus';
import { eventStoreConfigShape } from '../event-store/create-event-store';
import { env, hostTuningConfigShape, loadConfig, serviceConfigShape, type ConfigOf, type ConfigShape } from '../config/config';
import { TOKENS, createContainer, resolve, type Token } from '../di/container';
import type { HttpMount } from '../http/http-app';
import type { Route } from '../http/routes';
import type { MessageHandlers } from '../messaging/message-handlers';
import type { ToMessages } from '../messaging/outbound';
import type { LogFilter } from '../event-store/event-store';
import type { Projection } from '../projections/projection';
import type { ProjectionRunner } from '../projections/projection-runner';
import { DeadLetterConsole } from '../dead-letters/dead-letter-console';
import { deadLetterRoutes } from '../dead-letters/dead-letter-routes';
import { PeriodicTask } from './periodic-task';
import {
  bindPlatformAdapters,
  messageConsumer,
  outboxRelay,
  projectionRunner,
  migrateServiceDatabase,
  runWhenMain,
  startServiceHost,
  type HostConfig,
  type HostedService,
} from './service-host';

/** Resolves a part of the service (or of the platform: `TOKENS.*`) from the service's container. */
export type Get = <T>(token: Token<T>) => T;

/** How a part of the service is built: from other parts and the service's configuration. */
export type Factory<T, Config> = (get: Get, config: Config) => T;

/** One part of a service bound under its token (see `Provide`). */
export interface Provision<Config> {
  token: Token<unknown>;
  factory: Factory<unknown, Config>;
}

/** Binds `token` to what `factory` builds; one instance per process. */
export type Provide<Config> = <T>(token: Token<T>, factory: Factory<T, Config>) => Provision<Config>;

const provide = <T, Config>(token: Token<T>, factory: Factory<T, Config>): Provision<Config> => ({ token, factory });

/** A consumer of contract messages: its group (which also names its inbox) and its handlers. */
export interface ConsumerDefinition<Config> {
  group: string;
  handlers: Factory<MessageHandlers, Config>;
  maxPageSize?: number;
}

/** A periodic task: what one round does, and how often (both may read the configuration). */
export interface TaskDefinition<Config> {
  name: string;
  everyMs: (config: Config) => number;
  run: Factory<() => Promise<unknown>, Config>;
}

/**
 * A service, declared as data: what it is, what it owns, what it consumes
 * and publishes, its projections, routes and periodic tasks. `startService`
 * (the platform's host) does the rest: configuration from the environment,
 * the adapters, migrations, its own topics, the log fan-out feeding its
 * projections and outbox relay, the consumers on the message path, HTTP with
 * health and readiness, and the graceful stop. A service's `composition.ts`
 * holds its definition and its `main.ts` one line.
 */
export interface ServiceDefinition<S extends ConfigShape, Config = ConfigOf<S>> {
  /** A sentence for the OpenAPI document. */
  description: string;
  /** The configuration's shape (`serviceConfigShape` spread with the service's own variables). */
  config: S;
  /** The service's own migration set, run after the platform's. */
  migrations: { set: string; migrations: Record<string, Knex.Migration> };
  /** Its application parts, each bound under its token: `(provide) => [provide(ORDERS, (get, config) => new Orders(...)), ...]`. */
  provides?: (provide: Provide<Config>) => readonly Provision<Config>[];
  /** Named consumers (each also a `/readyz` check); their topics are their handlers' own. */
  consumes?: Record<string, ConsumerDefinition<Config>>;
  /**
   * Its outbox: the stored events it relays (`filter`) and what they become
   * (`toMessages`), to the `topics` declared here — the only topics, with
   * those of its consumers, that the service creates. A message to another
   * topic stops the relay with an error that says so. A function of the
   * configuration when what the events become depends on it (the version of
   * a message to publish during a rolling deploy).
   */
  publishes?: Publishes | ((config: Config) => Publishes);
  /** Projections over its own log (one runner each), or runners it builds itself. */
  projections?: readonly Projection[] | Factory<readonly ProjectionRunner[], Config>;
  routes?: Factory<readonly Route[], Config>;
  /** Express handlers beside the routes (a static page, an event stream). */
  mounts?: Factory<readonly HttpMount[], Config>;
  tasks?: readonly TaskDefinition<Config>[];
  /**
   * The service's own metrics (`platform/src/observability/metrics.ts`),
   * registered once it runs: gauge sources, commit observers. Returns their removal.
   */
  metrics?: Factory<() => () => void, Config>;
}

/** A service's outbox: see `ServiceDefinition.publishes`. */
export interface Publishes {
  source: string;
  toMessages: ToMessages;
  topics: readonly string[];
  filter?: LogFilter;
}

export function defineService<S extends ConfigShape>(definition: ServiceDefinition<S> & (ConfigOf<S> extends HostConfig ? unknown : 'the config shape must spread serviceConfigShape')): ServiceDefinition<S> {
  return definition;
}

/** The container of a defined service: the platform's adapters and the service's own parts. */
export function composeService<S extends ConfigShape>(definition: ServiceDefinition<S>, config: ConfigOf<S> & HostConfig, env: NodeJS.ProcessEnv): Container {
  const c = createContainer();
  bindPlatformAdapters(c, config, env);
  for (const p of definition.provides?.(provide) ?? []) {
    c.bind(p.token).toDynamicValue((ctx) => p.factory((t) => ctx.get(t), config));
  }
  return c;
}

/**
 * Starts a defined service from the environment (see `ServiceDefinition`);
 * `stop()` undoes it in the opposite order.
 */
export async function startService<S extends ConfigShape>(definition: ServiceDefinition<S>, env: NodeJS.ProcessEnv = process.env): Promise<HostedService> {
  // `defineService` checked that the shape gives what the host needs.
  const config = loadConfig(definition.config, env) as ConfigOf<S> & HostConfig;
  const c = composeService(definition, config, env);
  const get: Get = (t) => resolve(c, t);

  const consumers = Object.entries(definition.consumes ?? {}).map(([name, d]) => ({
    name,
    ...messageConsumer(get, d.group, d.handlers(get, config), d.maxPageSize ? { maxPageSize: d.maxPageSize } : {}),
  }));
  const publishes = typeof definition.publishes === 'function' ? definition.publishes(config) : definition.publishes;
  const relay = publishes
    ? outboxRelay(get, config, {
        name: publishes.source,
        toMessages: toDeclaredTopics(publishes.source, publishes.toMessages, publishes.topics),
        ...(publishes.filter ? { filter: publishes.filter } : {}),
      })
    : undefined;
  const projections =
    typeof definition.projections === 'function'
      ? definition.projections(get, config)
      : (definition.projections ?? []).map((p) => projectionRunner(get(TOKENS.Database), get(TOKENS.EventStore), get(TOKENS.Logger), p));
  // Its consumers' dead letters: indexed by consumers of their own, served by the console's admin routes.
  const deadLetters =
    consumers.length > 0
      ? new DeadLetterConsole({
          db: get(TOKENS.Database),
          store: get(TOKENS.EventStore),
          inbox: get(TOKENS.Inbox),
          bus: get(TOKENS.Bus),
          groups: consumers.map((x) => ({ group: x.group, processor: x.processor })),
          clock: () => get(TOKENS.Clock).now(),
        })
      : undefined;
  const indexers = deadLetters?.indexers() ?? [];
  // Its own topics only: those it publishes to, those its consumers read, and their dead-letter topics.
  const topics = new Set<string>([...(publishes?.topics ?? []), ...consumers.flatMap((x) => x.topics), ...(deadLetters?.topics ?? [])]);
  return startServiceHost({
    container: c,
    config,
    description: definition.description,
    migrations: definition.migrations,
    topics: [...topics].sort().map((name): TopicSpec => ({ name, partitions: config.TOPIC_PARTITIONS ?? 8 })),
    projections: [...projections],
    ...(relay ? { relay } : {}),
    consumers: Object.fromEntries([...consumers.map((x) => [x.name, x.consumer] as const), ...indexers.map((x) => [x.name, x.consumer] as const)]),
    groups: consumers.map((x) => ({ group: x.group, topics: x.topics })),
    ...(definition.metrics ? { metrics: definition.metrics(get, config) } : {}),
    workers: (definition.tasks ?? []).map(
      (t) => new PeriodicTask(t.name, t.run(get, config), { intervalMs: t.everyMs(config), logger: get(TOKENS.Logger) }),
    ),
    routes: [...(definition.routes?.(get, config) ?? []), ...(deadLetters ? deadLetterRoutes(deadLetters) : [])],
    mounts: [...(definition.mounts?.(get, config) ?? [])],
  });
}

export class UndeclaredTopicError extends Error {
  constructor(source: string, message: OutgoingMessage, topics: readonly string[]) {
    super(`${source} relayed a message to topic ${message.topic}, which its service definition does not publish to (${topics.join(', ')})`);
    this.name = 'UndeclaredTopicError';
  }
}

/** The relay's mapping, refusing a message to a topic the definition does not declare (the host wraps `publishes.toMessages` in it). */
export function toDeclaredTopics(source: string, toMessages: ToMessages, topics: readonly string[]): ToMessages {
  const declared = new Set(topics);
  const checked: ToMessages = (event) => {
    const messages = toMessages(event);
    for (const m of messages) if (!declared.has(m.topic)) throw new UndeclaredTopicError(source, m, topics);
    return messages;
  };
  if (toMessages.relayedTypes) checked.relayedTypes = toMessages.relayedTypes;
  return checked;
}

/**
 * A service's configuration shape: what every service reads (its name, HTTP,
 * database, auth, the host's tuning, and the bus: `BUS`, `BUS_DATABASE_URL`,
 * `KAFKA_BROKERS`..., read again by `createBusFromEnv` but declared here so a
 * bad value fails with the rest; the event store likewise: `EVENT_STORE`,
 * `EVENTSTORE_URL`, `EVENTSTORE_STREAM_PREFIX`), then its own variables.
 */
export function serviceConfig<const Own extends ConfigShape = Record<never, never>>(name: string, own?: Own) {
  return {
    ...serviceConfigShape,
    ...hostTuningConfigShape,
    SERVICE_NAME: env.string().default(name),
    HOST: env.string().default('127.0.0.1'),
    ...busConfigShape,
    ...eventStoreConfigShape,
    ...(own ?? ({} as Own)),
  };
}

/**
 * A service's `main.ts`: the function that starts it from an environment
 * (what tests and the local stack call), which also runs it, with signal
 * handling, when the calling module is the process's entry point
 * (`node --import tsx <service>/src/main.ts`). With `--migrate` it applies
 * the service's migrations to `DATABASE_URL` and exits instead (the
 * containers' migration job and init container).
 */
export function serviceMain<S extends ConfigShape>(importMetaUrl: string, definition: ServiceDefinition<S>): (env?: NodeJS.ProcessEnv) => Promise<HostedService> {
  const start = (environment: NodeJS.ProcessEnv = process.env) => startService(definition, environment);
  runWhenMain(importMetaUrl, start, (environment) => migrateServiceDatabase(definition.migrations, environment));
  return start;
}
