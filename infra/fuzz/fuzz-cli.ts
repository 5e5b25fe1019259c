/**
 * npm run fuzz -- [--stack-file FILE | --gateway URL] [--max-examples N] [--seed N] [--service NAME]...
 *
 * HTTP fuzzing with schemathesis (pinned, in its own venv: `npm run
 * infra:tools` installs it, and this does when it is missing) against every
 * service's OpenAPI document, with an admin and a customer token, checking
 * not_a_server_error, status_code_conformance, response_schema_conformance,
 * negative_data_rejection and ignored_auth. Prints one JSON line per service
 * and token (`{"fuzz":{"service":…,"operations":N,"cases":N,"failures":0}}`)
 * and each failure as schemathesis reports it, with a curl line to replay it;
 * exits 1 on any failure.
 *
 * Where the services are:
 * - no option: each started in-process on a fresh database, as the CI test
 *   does (`infra/test/http-fuzz.int.spec.ts`, run through vitest, which
 *   provides the test PostgreSQL);
 * - `--stack-file FILE`: the `stack.json` that `npm start` writes (the
 *   services' URLs; the signing key from `credentials.json` beside it);
 * - `--gateway URL`: behind the compose or K3s gateway (`/<service>/v1/...`),
 *   tokens signed with `AUTH_JWT_SECRET` (`AUTH_ISSUER`, `AUTH_AUDIENCE`).
 *
 * A running stack keeps what the fuzzer creates (products, stock, orders,
 * alert rules): point it at a stack you can reset (`npm start -- --reset`).
 * The CI settings are `--max-examples 15 --seed 20260520`; more examples or
 * another seed look further.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '@shop/platform';
import { ensureSchemathesis } from '../deploy-check/tools';
import { adminAccess, type ServiceKey } from '../deploy/admin-access';
import { CI_FUZZ_SETTINGS, fuzzLine, runSchemathesis, type FuzzResult } from './schemathesis';

const SERVICES = ['catalog-service', 'inventory-service', 'order-service', 'coordinator-service', 'analytics-service'] as const;

class UsageError extends Error {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'stack-file': { type: 'string' },
      gateway: { type: 'string' },
      'max-examples': { type: 'string', default: String(CI_FUZZ_SETTINGS.maxExamples) },
      seed: { type: 'string', default: String(CI_FUZZ_SETTINGS.seed) },
      service: { type: 'string', multiple: true },
    },
  });
  const maxExamples = positiveInteger(values['max-examples'], '--max-examples');
  const seed = positiveInteger(values.seed, '--seed');
  const services = values.service ?? [...SERVICES];
  for (const name of services) if (!(SERVICES as readonly string[]).includes(name)) throw new UsageError(`--service: one of ${SERVICES.join(', ')}, not ${name}`);

  if (!values['stack-file'] && !values.gateway) {
    // In-process: the vitest test, whose global setup starts the test PostgreSQL.
    if (values.service) throw new UsageError('--service needs --stack-file or --gateway (in-process, every service is fuzzed)');
    const vitest = spawn('npx', ['vitest', 'run', '--project', 'services', 'infra/test/http-fuzz.int.spec.ts'], {
      stdio: 'inherit',
      env: { ...process.env, FUZZ_MAX_EXAMPLES: String(maxExamples), FUZZ_SEED: String(seed) },
    });
    const code = await new Promise<number>((resolve) => vitest.once('exit', (c) => resolve(c ?? 1)));
    process.exit(code);
  }

  const { targets, auth } = await adminAccess({ stackFile: values['stack-file'], gateway: values.gateway });
  const tokens = {
    admin: await signToken({ sub: 'fuzz-admin', roles: ['admin'], ttl: '2h' }, auth),
    customer: await signToken({ sub: 'fuzz-customer', roles: ['customer'], ttl: '2h' }, auth),
  };

  const st = await ensureSchemathesis((line) => console.error(line));
  const reports = path.join(os.tmpdir(), `shop-fuzz-${process.pid}`);
  const results: FuzzResult[] = [];
  for (const service of services) {
    const base = targets[service.replace(/-service$/, '') as ServiceKey].replace(/\/+$/, '');
    for (const [tokenName, token] of Object.entries(tokens)) {
      const result = await runSchemathesis(
        { service, openapiUrl: `${base}/v1/openapi.json`, baseUrl: base, tokenName, token },
        { st, maxExamples, seed, reportDir: path.join(reports, `${service}-${tokenName}`) },
      );
      results.push(result);
      if (result.details) console.error(result.details);
      console.log(fuzzLine(result));
    }
  }
  const failed = results.filter((r) => r.failures + r.errors > 0);
  console.error(failed.length === 0 ? `no failure in ${results.length} runs (reports in ${reports})` : `${failed.length} of ${results.length} runs found failures (reports in ${reports})`);
  process.exit(failed.length === 0 ? 0 : 1);
}

function positiveInteger(text: string, option: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${option}: expected a positive integer, not ${text}`);
  return Number(text);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
