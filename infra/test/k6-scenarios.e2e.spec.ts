import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenarioOnce } from '../k6/harness/run-once';
import { LocalStack, repoRoot, stopAllStacks } from './support/local-stack';

/**
 * Every k6 scenario once against the local stack (npm start), through the
 * test-only adapter (infra/k6/harness): setup, one iteration of each of its
 * scenarios, the teardown's invariants and the reports. A broken URL, body,
 * token, check or invariant fails here. Not a load test: the figures come
 * from real k6 (infra/k6/README.md) and `npm run bench:saga`.
 */
const SCENARIOS = ['smoke', 'browse', 'checkout', 'mixed', 'stress', 'spike', 'soak', 'hot-sku'];
const SERVICE_URLS = { CATALOG_URL: 'catalog-service', INVENTORY_URL: 'inventory-service', ORDER_URL: 'order-service', COORDINATOR_URL: 'coordinator-service', ANALYTICS_URL: 'analytics-service' };

describe('the k6 scenarios, one iteration each against the local stack (npm start)', () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  let reports: string;

  beforeAll(async () => {
    stack = await LocalStack.start({ args: ['--reset'] });
    reports = await fs.mkdtemp(path.join(os.tmpdir(), 'k6-reports-'));
    env = {
      K6_TARGET: 'local',
      // The ports the launcher chose (another free one when a default is taken), as a user reads them from stack.json.
      ...Object.fromEntries(Object.entries(SERVICE_URLS).map(([variable, service]) => [variable, stack.url(service)])),
      // Long enough for the soak's full length, which its setup checks as a user's run would.
      CUSTOMER_TOKEN: await stack.token('customer', 'k6-customer', '6h'),
      ADMIN_TOKEN: await stack.token('admin', 'k6-admin', '6h'),
      K6_REPORT_DIR: reports,
    };
  }, 300_000);
  afterAll(async () => {
    await stopAllStacks();
    if (reports) await fs.rm(reports, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario}: setup, one iteration of each of its scenarios and the teardown's invariants pass; its reports are written`, async () => {
      const result = await runScenarioOnce(path.join(repoRoot, 'infra/k6/scenarios', `${scenario}.ts`), { env, reportDir: reports, timeoutMs: 240_000 });
      expect(result.reasons, result.output).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.checks.length).toBeGreaterThan(0);
      const written = await fs.readdir(reports);
      expect(written).toEqual(expect.arrayContaining([`${scenario}-summary.json`, `${scenario}-report.md`]));
    }, 300_000);
  }
});
