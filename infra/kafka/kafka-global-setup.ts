import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { KafkaTestBrokerStatus } from '@shop/platform/testing';
import { KafkaBroker, KafkaUnavailableError, kafkaUnavailableReason, preferredPort } from './kafka-broker';

/**
 * One real Kafka broker for the whole test run (vitest globalSetup), next to
 * the run's PostgreSQL. It starts in the background so that runs without
 * Kafka tests do not wait for it: its address is provided at once, and
 * `kafkaTestBrokers()` (platform/src/testing/kafka-env.ts) waits for the
 * status file to say ready. Without Java/Maven, Kafka tests are skipped with
 * a warning, except under CI, where the run fails.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reason = await kafkaUnavailableReason();
  if (reason) {
    if (process.env.CI) throw new KafkaUnavailableError(`${reason} (CI runs every Kafka test against a real broker)`);
    console.warn(`Kafka tests will be SKIPPED: ${new KafkaUnavailableError(reason).message}`);
    project.provide('kafkaBrokers', '');
    project.provide('kafkaUnavailable', reason);
    project.provide('kafkaStatusFile', '');
    return undefined;
  }

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-test-kafka-'));
  const statusFile = path.join(dir, 'status.json');
  const port = await preferredPort(0);
  const broker = new KafkaBroker({ dataDir: path.join(dir, 'data'), port, controllerPort: await preferredPort(0, port) });
  const writeStatus = async (status: KafkaTestBrokerStatus) => {
    // Whole or not at all: readers poll this file.
    await fs.writeFile(`${statusFile}.tmp`, JSON.stringify(status));
    await fs.rename(`${statusFile}.tmp`, statusFile);
  };
  await writeStatus({ state: 'starting', brokers: broker.brokers });
  project.provide('kafkaBrokers', broker.brokers);
  project.provide('kafkaUnavailable', '');
  project.provide('kafkaStatusFile', statusFile);

  const started = broker.start().then(
    () => writeStatus({ state: 'ready', brokers: broker.brokers }),
    (err: unknown) => writeStatus({ state: 'failed', brokers: broker.brokers, error: err instanceof Error ? err.message : String(err) }),
  );
  return async () => {
    // A run that never needed the broker may end while it still starts: abandon it (its data goes anyway).
    if (!broker.isRunning || (await readState(statusFile)) !== 'ready') await broker.kill();
    else await broker.stop();
    await started.catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  };
}

async function readState(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await fs.readFile(file, 'utf8')) as KafkaTestBrokerStatus).state;
  } catch {
    return undefined;
  }
}
