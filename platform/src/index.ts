export * from './errors/errors';
export * from './event-store/event-store';
export { PostgresEventStore, type PostgresEventStoreOptions } from './event-store/postgres/postgres-event-store';
export { eventStoreMigrations } from './event-store/postgres/event-store-migrations';
export { createKnex, runMigrations } from './persistence/migrations';
export { EmbeddedPostgresServer, freePort, type EmbeddedPostgresOptions, type SuperuserConnection } from './embedded-postgres/server';
export { provisionDatabase, dropDatabase, type DatabaseConnection } from './embedded-postgres/provision';
export { onShutdownSignal } from './embedded-postgres/signals';
