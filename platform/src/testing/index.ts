export { createTestDatabase, testAdminConnection } from './databases';
export { describeEventStoreConformance, type EventStoreFixture } from './event-store-conformance';
