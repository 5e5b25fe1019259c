/**
 * npm run chaos -- --orders N --minutes M [--bus postgres|kafka] [--kill-every S] [--broker-outage S] [--quiescence-timeout S] [--seed N]
 *
 * The chaos soak (chaos-soak.ts): starts a fresh local stack, places N
 * orders at a steady rate over M minutes while it SIGKILLs a service every
 * few seconds, restarts PostgreSQL once and (on Kafka) stops the broker
 * once; then waits for quiescence, audits, prints the figures, and the same
 * as one JSON line (`{"chaos":{...}}`). Exits 1 when anything was lost,
 * oversold, stuck, applied twice or found by the auditor.
 *
 * It does not take turns with the stack tests (it runs on free ports beside
 * them). Ctrl-C (or SIGTERM) stops placing orders early and goes on to the
 * quiescence wait and the audit; a second one stops the stack at once.
 */
import { parseArgs } from 'node:util';
import { stopAllStacks } from '../local/local-stack';
import { chaosFailures, formatFigures, runChaosSoak } from './chaos-soak';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '300' },
      minutes: { type: 'string', default: '2' },
      bus: { type: 'string', default: 'postgres' },
      'kill-every': { type: 'string', default: '4' },
      'broker-outage': { type: 'string', default: '20' },
      'quiescence-timeout': { type: 'string', default: '300' },
      seed: { type: 'string' },
    },
  });
  if (values.bus !== 'postgres' && values.bus !== 'kafka') {
    console.error(`--bus must be postgres or kafka, not ${values.bus}`);
    return 2;
  }
  const number = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${values[name]}`);
    return n;
  };
  const stopEarly = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopEarly.signal.aborted) {
      void stopAllStacks().finally(() => process.exit(130));
      return;
    }
    console.log(`${signal}: stopping the order flow early; waiting for quiescence and auditing (again to abort)`);
    stopEarly.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const seed = values.seed ? Number(values.seed) : Date.now() % 1_000_000;
  console.log(`chaos: ${values.orders} orders over ${values.minutes} min on the ${values.bus} bus, a kill every ~${values['kill-every']} s, seed ${seed}`);
  const figures = await runChaosSoak({
    bus: values.bus,
    orders: Math.round(number('orders')),
    minutes: number('minutes'),
    killEverySeconds: number('kill-every'),
    brokerOutageSeconds: number('broker-outage'),
    quiescenceTimeoutSeconds: number('quiescence-timeout'),
    takeTurns: false,
    seed,
    signal: stopEarly.signal,
    log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  console.log(formatFigures(figures));
  console.log(JSON.stringify({ chaos: figures }));
  const failures = chaosFailures(figures);
  if (Object.keys(failures).length > 0) console.error(`chaos soak FAILED: ${JSON.stringify(failures)}`);
  return Object.keys(failures).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`chaos: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
