import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { KafkaTestBrokerStatus } from '@shop/platform/testing';
import { KafkaUnavailableError, kafkaUnavailableReason } from './kafka-broker';

/**
 * The vitest globalSetup of the `stack` project. Stack tests start their own
 * broker (`npm start -- --bus kafka`), so no shared one is started here: this
 * only says whether Kafka can run on this machine, for `skipKafkaTests()`,
 * with the same rule as the run's broker (skipped with a warning, failing
 * under CI).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reason = await kafkaUnavailableReason();
  if (reason && process.env.CI) throw new KafkaUnavailableError(`${reason} (CI runs every Kafka test against a real broker)`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-test-kafka-availability-'));
  const statusFile = path.join(dir, 'status.json');
  const status: KafkaTestBrokerStatus = { state: 'failed', brokers: '', error: 'the stack tests have no shared broker: each stack starts its own' };
  await fs.writeFile(statusFile, JSON.stringify(status));
  project.provide('kafkaBrokers', '');
  project.provide('kafkaUnavailable', reason ?? '');
  project.provide('kafkaStatusFile', statusFile);
  return async () => {
    await fs.rm(dir, { recursive: true, force: true });
  };
}
