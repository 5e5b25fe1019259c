/**
 * npm run jaeger -- build    builds Jaeger once into the cache (CI does, before the tests) and prints the binary's path
 * npm run jaeger -- start    runs a Jaeger (memory storage, OTLP in) in the foreground until Ctrl-C, printing its UI and OTLP endpoints
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JaegerServer, JaegerUnavailableError, ensureJaeger } from './jaeger-server';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(command: string | undefined): Promise<void> {
  if (command === 'build') {
    process.stdout.write(`${await ensureJaeger(log)}\n`);
    return;
  }
  if (command === 'start') {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-jaeger-'));
    const jaeger = new JaegerServer({ dataDir: dir, log });
    await jaeger.start();
    process.stdout.write(`Jaeger UI: ${jaeger.queryUrl}\nOTEL_EXPORTER_OTLP_ENDPOINT=${jaeger.otlpHttpEndpoint}\n`);
    const stop = () => void jaeger.stop().then(() => fs.rm(dir, { recursive: true, force: true })).then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  log('usage: npm run jaeger -- build | start');
  process.exit(2);
}

main(process.argv[2]).catch((err: unknown) => {
  log(err instanceof JaegerUnavailableError ? err.message : String((err as Error).stack ?? err));
  process.exit(1);
});
