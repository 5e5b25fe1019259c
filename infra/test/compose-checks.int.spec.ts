import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../deploy-check/check-result';
import { checkCompose } from '../deploy-check/compose-checks';
import { buildComposeValidator } from '../deploy-check/compose-validator';

/**
 * docker-compose.yml passes compose-go's schema and every rule of
 * compose-checks.ts, and each fixture of fixtures/compose breaks one rule
 * and fails it, naming the service. The real validator (built once into the
 * tool cache) and the real service config shapes; no Docker.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURES = path.join(import.meta.dirname, 'fixtures/compose');
// Placeholders: interpolation needs every variable, not real secrets.
const ENV_FILE = path.join(ROOT, '.env.example');

let validator: string;
beforeAll(async () => {
  validator = await buildComposeValidator();
}, 600_000);

async function check(file: string): Promise<CheckResult[]> {
  return checkCompose({ file, envFile: ENV_FILE, validator });
}

function failed(results: CheckResult[], name: string): CheckResult {
  const found = results.find((r) => !r.name.includes('schema') && r.name.includes(name)) ?? results.find((r) => r.name.includes(name));
  expect(found, `a result named like "${name}" in ${results.map((r) => r.name).join(' | ')}`).toBeDefined();
  return found!;
}

describe('checkCompose', () => {
  it('passes docker-compose.yml on every check', async () => {
    const results = await check(path.join(ROOT, 'docker-compose.yml'));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBe(9);
  });

  it('passes docker-compose.yml on the Postgres event store too (EVENT_STORE=postgres, the documented way back)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-postgres-store-'));
    try {
      const envFile = path.join(dir, '.env');
      writeFileSync(envFile, `${readFileSync(ENV_FILE, 'utf8')}\nEVENT_STORE=postgres\n`);
      const results = await checkCompose({ file: path.join(ROOT, 'docker-compose.yml'), envFile, validator });
      expect(results.filter((r) => !r.ok)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails docker-compose.yml when the env file lacks a secret (required interpolation)', async () => {
    const results = await checkCompose({ file: path.join(ROOT, 'docker-compose.yml'), envFile: path.join(FIXTURES, 'empty.env'), validator });
    const schema = failed(results, 'schema');
    expect(schema.ok).toBe(false);
    expect(schema.problems.join('\n')).toContain('run npm run compose:env');
  });

  it('the fixtures baseline passes every rule but the Prometheus one', async () => {
    const results = await check(path.join(FIXTURES, 'valid.yml'));
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual(['compose: Prometheus jobs match the repo']);
  });

  it('fails a long-running service without a healthcheck', async () => {
    const result = failed(await check(path.join(FIXTURES, 'no-healthcheck.yml')), 'has a healthcheck');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(['order-service: long-running but has no healthcheck']);
  });

  it('fails a service lacking a variable its config requires', async () => {
    const result = failed(await check(path.join(FIXTURES, 'missing-database-url.yml')), 'config requires');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(["order-service: DATABASE_URL is required by order-service's config but not set"]);
  });

  it('fails a service on EventStoreDB without EVENTSTORE_URL (required only when EVENT_STORE=eventstoredb)', async () => {
    const results = await check(path.join(FIXTURES, 'missing-eventstore-url.yml'));
    const result = failed(results, 'config requires');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(["order-service: EVENTSTORE_URL is required by order-service's config but not set"]);
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual([result.name, 'compose: Prometheus jobs match the repo']);
  });

  it('fails two services sharing a KurrentDB server under one stream prefix', async () => {
    const results = await check(path.join(FIXTURES, 'shared-stream-prefix.yml'));
    const result = failed(results, 'stream prefixes');
    expect(result.ok).toBe(false);
    // compose-go lists the services by name.
    expect(result.problems).toEqual([
      "catalog-service: EVENTSTORE_STREAM_PREFIX shop. is also order-service's on the same EventStoreDB server: it would read order-service's streams as its own",
      "order-service: EVENTSTORE_STREAM_PREFIX shop. is also catalog-service's on the same EventStoreDB server: it would read catalog-service's streams as its own",
    ]);
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual([result.name, 'compose: Prometheus jobs match the repo']);
  });

  it('fails a depends_on that waits only for a start', async () => {
    const result = failed(await check(path.join(FIXTURES, 'depends-on-started.yml')), 'depends_on');
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^order-service: depends_on orders-db with condition service_started; expected service_healthy/);
  });

  it('fails a schema error: an unknown key', async () => {
    const results = await check(path.join(FIXTURES, 'schema-error.yml'));
    expect(results).toHaveLength(1);
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.problems.join('\n')).toContain("additional properties 'tests' not allowed");
  });

  it('fails a schema error: a wrong type', async () => {
    const results = await check(path.join(FIXTURES, 'wrong-type.yml'));
    expect(results).toHaveLength(1);
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.problems.join('\n')).toContain('retries');
  });

  it("fails a database network that another service joins", async () => {
    const result = failed(await check(path.join(FIXTURES, 'shared-database-network.yml')), "database's network");
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(['kafka: on network orders-db of database orders-db, which only its service and migrate job may join']);
  });
});
