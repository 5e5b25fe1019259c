export { createTestDatabase, testAdminConnection } from './databases';
export { describeEventStoreConformance, waitFor, type EventStoreFixture } from './event-store-conformance';
export { describeBusConformance, type BusFixture } from './bus-conformance';
export { kafkaTestBrokers, skipKafkaTests, type KafkaTestBrokerStatus } from './kafka-env';
export { eventStoreTestUrl, skipEventStoreTests } from './eventstore-env';
export { configError } from './config-error';
export { DeciderSpecification, SagaSpecification, type SagaStep, type SagaUnderSpecification } from './decider-specification';
export { ProjectionSpecification, recordedEvents, type GivenEvent, type ProjectionRows, type ProjectionSpecificationOptions } from './projection-specification';
export { TEST_AUTH, startServiceForTest, type ServiceUnderTest, type TestResponse } from './service-harness';
