export { createTestDatabase, testAdminConnection } from './databases';
export { describeEventStoreConformance, waitFor, type EventStoreFixture } from './event-store-conformance';
export { describeBusConformance, type BusFixture } from './bus-conformance';
export { kafkaTestBrokers, skipKafkaTests, type KafkaTestBrokerStatus } from './kafka-env';
export { configError } from './config-error';
