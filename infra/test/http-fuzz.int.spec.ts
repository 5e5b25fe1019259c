import os from 'node:os';
import path from 'node:path';
import type { ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSchemathesis } from '../deploy-check/tools';
import { CI_FUZZ_SETTINGS, fuzzLine, runSchemathesis, type FuzzResult } from '../fuzz/schemathesis';
import { IN_PROCESS_SERVICES } from './support/in-process-services';

/**
 * HTTP fuzzing: schemathesis against every service's OpenAPI document, each
 * service started in-process as the stack runs it (a real database of its
 * own), once with an admin token and once with a customer one. The checks:
 * no 5xx, every status and every response body as the document says, every
 * request the document calls invalid refused with a 4xx, and every secured
 * operation refusing a request without (or with a broken) token. Zero
 * failures, and one JSON line of counts per service and token.
 *
 * Bounded for CI (`CI_FUZZ_SETTINGS`: a few examples per operation and
 * phase, a fixed seed); `npm run fuzz -- --max-examples 200` runs the same
 * test with more (FUZZ_MAX_EXAMPLES, FUZZ_SEED).
 */

const maxExamples = Number(process.env.FUZZ_MAX_EXAMPLES ?? CI_FUZZ_SETTINGS.maxExamples);
const seed = Number(process.env.FUZZ_SEED ?? CI_FUZZ_SETTINGS.seed);
const REPORTS = path.join(os.tmpdir(), `shop-fuzz-${process.pid}`);
/** Per service: what the fuzz run changes in the test environment. */
const ENV: Record<string, Record<string, string>> = {
  // A read with `minPosition` past the archive waits this long before its 409 (5 s by default): each such case would.
  'analytics-service': { READ_YOUR_WRITES_TIMEOUT: '100ms' },
};
const TOKENS = ['admin', 'customer'] as const;

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
}

describe('HTTP fuzzing (schemathesis) of every OpenAPI document', () => {
  let st: string;
  const results: FuzzResult[] = [];

  beforeAll(async () => {
    st = await ensureSchemathesis((line) => console.log(line));
  }, 600_000);

  describe.each(IN_PROCESS_SERVICES)('$name', ({ name, start }) => {
    let svc: ServiceUnderTest;
    beforeAll(async () => {
      svc = await start(`fuzz_${name.replace(/-service$/, '')}`, ENV[name]);
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it.each(TOKENS)('finds no failure with the %s token', { timeout: 600_000 }, async (tokenName) => {
      const doc = (await (await fetch(`${svc.url}/v1/openapi.json`)).json()) as OpenApiDocument;
      const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
      const result = await runSchemathesis(
        { service: name, openapiUrl: `${svc.url}/v1/openapi.json`, baseUrl: svc.url, tokenName, token: await svc.token(tokenName) },
        { st, maxExamples, seed, reportDir: path.join(REPORTS, `${name}-${tokenName}`) },
      );
      results.push(result);
      console.log(fuzzLine(result));
      expect(result.details, `schemathesis found failures (reports in ${result.reportDir})`).toBe('');
      expect(result.failures).toBe(0);
      expect(result.errors).toBe(0);
      expect(result.operations, 'every operation of the document was tested').toBe(operations);
      expect(result.cases).toBeGreaterThan(operations);
    });
  });

  afterAll(() => {
    const total = (key: 'operations' | 'cases' | 'failures' | 'errors') => results.reduce((n, r) => n + r[key], 0);
    console.log(JSON.stringify({ fuzzTotal: { runs: results.length, operations: total('operations'), cases: total('cases'), failures: total('failures'), errors: total('errors'), maxExamples, seed } }));
  });
});
