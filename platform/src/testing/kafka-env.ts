import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';

/** What the test run's broker is doing (infra/kafka/kafka-global-setup.ts writes it). */
export interface KafkaTestBrokerStatus {
  state: 'starting' | 'ready' | 'failed';
  brokers: string;
  error?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's broker (`host:port`); '' when Kafka is unavailable. Wait with `kafkaTestBrokers()` before use. */
    kafkaBrokers: string;
    /** Why no broker runs here (no Java, no Maven), or ''. */
    kafkaUnavailable: string;
    kafkaStatusFile: string;
  }
}

const INSTALL_HINT = 'install a JDK 17+ and Maven (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven)';

function unavailableReason(): string | undefined {
  const statusFile = inject('kafkaStatusFile');
  if (statusFile === undefined) return 'the Kafka global setup did not run (infra/kafka/kafka-global-setup.ts in vitest.config.ts)';
  return inject('kafkaUnavailable') || undefined;
}

/**
 * For `describe.skipIf(skipKafkaTests('…'))`: true, with a warning, on a
 * machine that cannot run the test broker (no Java 17+ or Maven). Under CI
 * it throws instead, so CI never passes without its Kafka tests.
 */
export function skipKafkaTests(suite = 'Kafka tests'): boolean {
  const reason = unavailableReason();
  if (!reason) return false;
  if (process.env.CI) throw new Error(`${suite} need a Kafka broker: ${reason}; ${INSTALL_HINT}`);
  console.warn(`${suite} SKIPPED: ${reason}; ${INSTALL_HINT}.`);
  return true;
}

/**
 * The run's broker address (`127.0.0.1:<port>`), once it is ready: it starts
 * in the background when the run begins (the first run on a machine also
 * fetches its jars, about 30 s). Throws with the broker's own error if it
 * could not start.
 */
export async function kafkaTestBrokers(timeoutMs = 180_000): Promise<string> {
  const reason = unavailableReason();
  if (reason) throw new Error(`no Kafka broker in this test run: ${reason}; ${INSTALL_HINT}`);
  const statusFile = inject('kafkaStatusFile');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = JSON.parse(await readFile(statusFile, 'utf8')) as KafkaTestBrokerStatus;
    if (status.state === 'ready') return status.brokers;
    if (status.state === 'failed') throw new Error(`the test run's Kafka broker did not start: ${status.error}`);
    if (Date.now() > deadline) throw new Error(`the test run's Kafka broker (${status.brokers}) was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
