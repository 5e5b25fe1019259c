/**
 * npm run kafka -- start [--data-dir DIR] [--port PORT]
 *   Runs a single-node Kafka broker in the foreground until Ctrl-C (default
 *   data: .data/kafka-standalone, port 9092 if free, else a free one).
 * npm run kafka -- fetch
 *   Downloads Kafka's jars from Maven Central into the cache only.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onShutdownSignal } from '@shop/platform';
import { KAFKA_VERSION, KafkaBroker, KafkaUnavailableError, ensureKafkaJars, preferredPort } from './kafka-broker';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const USAGE = 'usage: npm run kafka -- start [--data-dir DIR] [--port PORT] | fetch';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

async function main(): Promise<void> {
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === 'fetch') {
    const { libs, fetchedMs } = await ensureKafkaJars((line) => console.log(line));
    console.log(fetchedMs === undefined ? `Kafka ${KAFKA_VERSION} jars already cached in ${libs}` : `Kafka ${KAFKA_VERSION} jars in ${libs}`);
    return;
  }
  if (command !== 'start') throw new UsageError(`unknown command ${command}`);

  const port = values.port === undefined ? await preferredPort(9092) : Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new UsageError(`--port must be a TCP port, not ${values.port}`);
  const broker = new KafkaBroker({
    dataDir: path.resolve(values['data-dir'] ?? path.join(repoRoot, '.data', 'kafka-standalone')),
    port,
    log: (line) => console.log(line),
    onUnexpectedExit: (code, signal) => {
      console.error(`the broker exited (${code ?? signal}); see ${broker.logFile}`);
      process.exit(1);
    },
  });
  onShutdownSignal(async () => {
    shuttingDown = true;
    console.log('\nstopping...');
    const { code, stopMs } = await broker.stop();
    console.log(`stopped (exit ${code}) in ${stopMs} ms`);
  });
  const brokers = await broker.start();
  console.log(`Kafka ${KAFKA_VERSION} (KRaft, single node) ready on ${brokers} in ${broker.timings.startToReadyMs} ms
  data: ${broker.dataDir}   log: ${broker.logFile}   pid: ${broker.pid}
  use it: BUS=kafka KAFKA_BROKERS=${brokers}
Ctrl-C stops it.`);
  setInterval(() => undefined, 1 << 30);
}

class UsageError extends Error {}

/** Set once Ctrl-C arrives: a start it interrupts is not a failure; the shutdown handler exits. */
let shuttingDown = false;

main().catch((err: unknown) => {
  if (shuttingDown) return;
  if (err instanceof UsageError) console.error(`${err.message}\n${USAGE}`);
  else console.error(err instanceof KafkaUnavailableError ? err.message : err);
  process.exit(err instanceof UsageError ? 2 : 1);
});
