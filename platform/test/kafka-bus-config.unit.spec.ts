import { describe, expect, it } from 'vitest';
import { busConfigShape, createBusFromEnv } from '../src/bus/create-bus';
import { KafkaBus } from '../src/bus/kafka/kafka-bus';
import { PostgresBus } from '../src/bus/postgres/postgres-bus';
import { loadConfig } from '../src/config/config';
import { configError } from '../src/testing/config-error';

describe('bus configuration', () => {
  it('picks Kafka with BUS=kafka and its brokers, without connecting yet', async () => {
    const bus = createBusFromEnv({ BUS: 'kafka', KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092', LOG_LEVEL: 'silent' });
    expect(bus).toBeInstanceOf(KafkaBus);
    expect((bus as KafkaBus).options.brokers).toEqual(['kafka-1:9092', 'kafka-2:9092']);
    expect((bus as KafkaBus).settings).toMatchObject({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 500 });
    await bus.close();
  });

  it('keeps Postgres the default', async () => {
    const bus = createBusFromEnv({ BUS_DATABASE_URL: 'postgres://bus:pw@127.0.0.1:5432/bus' });
    expect(bus).toBeInstanceOf(PostgresBus);
    await bus.close();
  });

  it('names the variable that is missing for the chosen bus', () => {
    expect(configError(() => createBusFromEnv({ BUS: 'kafka' })).problems).toEqual([{ variable: 'KAFKA_BROKERS', message: 'required when BUS=kafka' }]);
    expect(configError(() => createBusFromEnv({ BUS: 'postgres' })).problems).toEqual([
      { variable: 'BUS_DATABASE_URL', message: 'required when BUS=postgres' },
    ]);
    // Each bus needs only its own variables.
    expect(() => loadConfig(busConfigShape, { BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:9092' })).not.toThrow();
  });

  it.each([
    [{ BUS: 'rabbit' }, 'BUS'],
    [{ BUS: 'kafka', KAFKA_BROKERS: 'kafka-1' }, 'KAFKA_BROKERS'],
    [{ BUS: 'kafka', KAFKA_BROKERS: 'kafka-1:9092,http://kafka-2:9092' }, 'KAFKA_BROKERS'],
    [{ BUS: 'kafka', KAFKA_BROKERS: ' , ' }, 'KAFKA_BROKERS'],
    [{ BUS: 'kafka', KAFKA_BROKERS: 'k:9092', KAFKA_SESSION_TIMEOUT_MS: 'ten' }, 'KAFKA_SESSION_TIMEOUT_MS'],
    [{ BUS: 'kafka', KAFKA_BROKERS: 'k:9092', KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '6000' }, 'KAFKA_HEARTBEAT_INTERVAL_MS'],
    [{ BUS: 'postgres', BUS_DATABASE_URL: 'mysql://bus@db/bus' }, 'BUS_DATABASE_URL'],
  ])('refuses %j, naming %s', (source, variable) => {
    expect(configError(() => createBusFromEnv(source)).problems.map((p) => p.variable)).toEqual([variable]);
  });

  it('accepts IPv6 brokers', async () => {
    const bus = createBusFromEnv({ BUS: 'kafka', KAFKA_BROKERS: '[::1]:9092', LOG_LEVEL: 'silent' });
    expect((bus as KafkaBus).options.brokers).toEqual(['[::1]:9092']);
    await bus.close();
  });
});
