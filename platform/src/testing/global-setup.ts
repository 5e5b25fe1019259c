import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresServer } from '../embedded-postgres/server';

/**
 * One real PostgreSQL server for the whole test run (vitest globalSetup);
 * each suite gets its own database and role from `createTestDatabase`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = path.join(os.tmpdir(), `shop-test-pg-${process.pid}`, 'data');
  const server = new EmbeddedPostgresServer({
    dataDir,
    reset: true,
    // Durability stays on: the tests and benchmarks measure real commits.
    settings: { max_connections: 400 },
  });
  const admin = await server.start();
  project.provide('pgAdmin', admin);
  return async () => {
    await server.stop();
    await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
    await fs.rm(`${dataDir}.superuser`, { force: true });
  };
}
