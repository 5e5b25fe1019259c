import { skipKafkaTests } from '@shop/platform/testing';

/**
 * The buses the stack tests run on: both, so that every saga guarantee is
 * proven on Kafka as well as on the Postgres bus. Kafka drops out (with a
 * warning) only on a machine without Java and Maven, and never under CI.
 */
export const STACK_BUSES: ('postgres' | 'kafka')[] = skipKafkaTests('the Kafka runs of the stack tests') ? ['postgres'] : ['postgres', 'kafka'];
