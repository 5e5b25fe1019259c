import { defineConfig } from 'vitest/config';

/** The stack tests: each starts the whole platform (five services, PostgreSQL, maybe a broker) as real processes. */
const STACK_TESTS = 'infra/test/**/*.e2e.spec.ts';
/** Pact provider verifications: after the consumer tests (in `services`) have written the pact files they verify. */
const PROVIDER_PACTS = '**/*.provider.pact.spec.ts';
/** The contracts gate: after the providers verified the pacts of this run. */
const CONTRACTS_GATE = 'infra/test/contracts.gate.spec.ts';
/** The tests that need an EventStoreDB server (EVENTSTORE_URL; the GitHub workflow's `eventstore` job): skipped, with the reason printed, without one. */
const EVENTSTORE_TESTS = '**/*.esdb.spec.ts';

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', '**/.data/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'services',
          include: ['**/*.spec.ts'],
          exclude: ['**/node_modules/**', '**/.data/**', STACK_TESTS, PROVIDER_PACTS, CONTRACTS_GATE, EVENTSTORE_TESTS],
          // One PostgreSQL server and one Kafka broker for the whole project.
          globalSetup: ['platform/src/testing/global-setup.ts', 'infra/kafka/kafka-global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'pact-providers',
          include: [PROVIDER_PACTS],
          sequence: { groupOrder: 1 },
        },
      },
      {
        // One file at a time against the one server; each file keeps to a stream prefix of its own.
        extends: true,
        test: { name: 'eventstore', include: [EVENTSTORE_TESTS], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        extends: true,
        test: { name: 'contracts-gate', include: [CONTRACTS_GATE], sequence: { groupOrder: 3 } },
      },
      {
        // After everything else, one file at a time: a stack has the machine's
        // two cores to itself, so its time bounds (every order terminal within
        // 60 s of a crash or an outage) measure the platform, not its neighbours.
        // Each stack starts its own PostgreSQL and broker.
        extends: true,
        test: {
          name: 'stack',
          include: [STACK_TESTS],
          fileParallelism: false,
          globalSetup: ['infra/kafka/kafka-availability-setup.ts'],
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
