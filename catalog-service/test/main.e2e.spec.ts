import { spawn } from 'node:child_process';
import path from 'node:path';
import { createKnex, migrateBus } from '@shop/platform';
import { createTestDatabase } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlOf } from './support';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

describe('catalog-service run as a process', () => {
  let serviceDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let busDb: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    [serviceDb, busDb] = await Promise.all([createTestDatabase('catalog_main_svc'), createTestDatabase('catalog_main_bus')]);
    const busKnex = createKnex(busDb);
    await migrateBus(busKnex);
    await busKnex.destroy();
  });
  afterAll(async () => {
    await serviceDb?.drop();
    await busDb?.drop();
  });

  it('logs one JSON "listening" line with its url and port, serves, and stops on SIGTERM with 143', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'catalog-service/src/main.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        SHOP_ENV: 'development',
        PORT: '0',
        DATABASE_URL: urlOf(serviceDb),
        BUS: 'postgres',
        BUS_DATABASE_URL: urlOf(busDb),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const listening = await new Promise<{ msg: string; url: string; port: number }>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s; stderr: ${stderr}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const line = buffered.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as { msg: string; url: string; port: number });
        }
      });
    });
    expect(listening.url).toBe(`http://127.0.0.1:${listening.port}`);
    expect(listening.port).toBeGreaterThan(0);
    const res = await fetch(`${listening.url}/v1/products`);
    expect(res.status).toBe(200);
    expect((await fetch(`${listening.url}/readyz`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    await expect(fetch(`${listening.url}/healthz`)).rejects.toThrow();
  });
});
