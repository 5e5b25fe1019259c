export * from './errors/errors';
export * from './errors/transient-errors';
export * from './event-store/event-store';
export { PostgresEventStore, type PostgresEventStoreOptions } from './event-store/postgres/postgres-event-store';
export type { CommitListener, CommittedEvent } from './event-store/commit-observers';
export { EventStoreDbEventStore, type EventStoreDbOptions } from './event-store/eventstoredb/eventstoredb-event-store';
export { createEventStoreFromEnv, eventStoreConfigShape, type EventStoreConfig } from './event-store/create-event-store';
export { eventStoreMigrations } from './event-store/postgres/event-store-migrations';
export { createKnex, runMigrations } from './persistence/migrations';
export { EmbeddedPostgresServer, freePort, type EmbeddedPostgresOptions, type SuperuserConnection } from './embedded-postgres/server';
export { provisionDatabase, dropDatabase, type DatabaseConnection } from './embedded-postgres/provision';
export { onShutdownSignal } from './embedded-postgres/signals';
export * from './projections/projection';
export { ProjectionRunner, checksumTables, type RebuildProgress, type RebuildResult } from './projections/projection-runner';
export { projectionMigrations } from './projections/projection-migrations';
export * from './web';
export * from './bus/bus';
export { partitionForKey } from './bus/partitioner';
export { PostgresBus, migrateBus, type PostgresBusOptions } from './bus/postgres/postgres-bus';
export { busMigrations } from './bus/postgres/bus-migrations';
export { KafkaBus, type KafkaBusOptions } from './bus/kafka/kafka-bus';
export { busConfigShape, createBusFromEnv, type BusConfig } from './bus/create-bus';
export * from './envelope/envelope';
export { handleOnce, inboxHandler, inboxMigrations, isHandled, markHandled, type Inbox } from './inbox/inbox';
export { OutboxRelay, outboxMigrations, type OutboxRelayOptions, type OutboxRelayStatus } from './outbox/outbox-relay';
export { PgNotifier } from './persistence/pg-notifier';
export { busReadiness, consumerReadiness } from './bus/bus-readiness';
export { deterministicId } from './ids/deterministic-id';
export { seededRandom } from './ids/seeded-random';
export { executeCommand, type ExecuteCommandOptions, type CommandOutcome } from './event-store/execute-command';
export type { Decider } from './event-store/decider';
export { CorruptEventError, combineCodecs, eventCodec, type EventCodec, type EventSchemas } from './event-store/event-codec';
export { bindPlatformAdapters, messageConsumer, outboxRelay, projectionRunner, runWhenMain, startServiceHost, type HostConfig, type HostedPart, type HostedService, type ServiceHostOptions } from './service/service-host';
export {
  composeService,
  defineService,
  serviceConfig,
  serviceMain,
  startService,
  UndeclaredTopicError,
  type ConsumerDefinition,
  type Factory,
  type Get,
  type Provide,
  type Provision,
  type Publishes,
  type ServiceDefinition,
  type TaskDefinition,
} from './service/service-definition';
export { PeriodicTask } from './service/periodic-task';
export { isProcessAlive } from './process/is-process-alive';
export { waitFor } from './process/wait-for';
export { UnitOfWork, StreamStateCache, foldEvents, type Aggregate, type StageOptions } from './event-store/unit-of-work';
export { Work, commitWork, type Cause } from './event-store/work';
export * from './messaging/message-contract';
export { INTERNAL, UnmappedEventError, messageMetadataOf, outboundMessages, send, type MessageToSend, type OutboundMapping, type ToMessages } from './messaging/outbound';
export { MessageHandlers, type InboundMessage, type MessageHandler } from './messaging/message-handlers';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  MessageProcessor,
  MessageTooLargeError,
  isRejection,
  metadataOf,
  type MessageProcessorOptions,
  type MessageProcessorStats,
} from './messaging/message-processor';
export {
  DeadLetterConsole,
  deadLetterId,
  deadLetterIndexGroup,
  deadLetterMigrations,
  deadLetterTopicOf,
  type DeadLetterDetail,
  type DeadLetterSummary,
} from './dead-letters/dead-letter-console';
export { deadLetterActions, deadLetterStream, type DeadLetterAction, type DeadLetterStatus } from './dead-letters/dead-letter-actions';
export { deadLetterRoutes } from './dead-letters/dead-letter-routes';
export { LogFanOut, unionFilter, type LogFanOutOptions, type LogFanOutStatus } from './projections/log-fan-out';
export { insertRows, rowsByKey, type Column } from './projections/batch-sql';
export * from './observability/metrics';
export {
  ATTR,
  SpanKind,
  activeCarrier,
  context,
  trace,
  type Span,
  type Context,
  carrierOf,
  contextOf,
  failSpan,
  shutdownTracing,
  startLinkedSpan,
  tracer,
  tracingEnabled,
  type TraceCarrier,
} from './observability/tracing';
export { tracingRequested } from './observability/tracing-env';
