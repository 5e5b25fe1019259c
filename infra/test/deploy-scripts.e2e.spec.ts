import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PREFIXES, type SmokeResult } from '../deploy/smoke-order';
import { runTool, type ToolOutput } from '../tools/tool-process';
import { LocalStack, repoRoot, stopAllStacks } from './support/local-stack';

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Runs a script the way the compose and K3s jobs do; resolves with its exit code and output, never throws on a non-zero exit. */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<ToolOutput> {
  return runTool(tsx, [script, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, timeoutMs: 180_000 });
}

const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;

/**
 * A stand-in for the gateway's routing (Traefik's StripPrefix in compose and
 * on K3s): `/<prefix>/...` goes to that service's `/...`, with the stripped
 * prefix in `X-Forwarded-Prefix` as Traefik sends it.
 */
function prefixGateway(routes: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const entry = Object.entries(routes).find(([prefix]) => req.url!.startsWith(`${prefix}/`));
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    const target = new URL(req.url!.slice(entry[0].length), entry[1]);
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host, 'x-forwarded-prefix': entry[0] } }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

describe('the compose and K3s jobs\' scripts against the local stack (npm start)', () => {
  let stack: LocalStack;
  const stackFile = () => path.join(stack.dataDir, 'stack.json');

  beforeAll(async () => {
    stack = await LocalStack.start({ args: ['--reset'] });
  }, 300_000);
  afterAll(async () => {
    await stopAllStacks();
  });

  it('the order smoke script places an order and sees it confirmed (npm start\'s stack file)', async () => {
    const result = await run('infra/deploy/smoke-order.ts', ['--stack-file', stackFile(), '--timeout', '90s']);
    expect(result.code, result.stderr).toBe(0);
    const summary = lastJson<SmokeResult>(result.stdout);
    expect(summary).toMatchObject({ ok: true, status: 'confirmed' });
    expect(summary.steps.map((s) => s.step)).toEqual(['catalog reachable', 'product added', 'stock received', 'order placed', 'order terminal']);
    // The order is really there, confirmed, for the customer the script signed for.
    const admin = await stack.token('admin');
    const order = await stack.request<{ status: string; lines: { sku: string }[] }>('order-service', 'GET', `/v1/orders/${summary.orderId}`, admin);
    expect(order.body.status).toBe('confirmed');
    expect(order.body.lines.map((l) => l.sku)).toEqual([summary.sku]);
  }, 180_000);

  it('through a gateway that strips the service prefixes, as the compose and K3s jobs call it', async () => {
    const gateway = await prefixGateway({
      [GATEWAY_PREFIXES.catalog]: stack.url('catalog-service'),
      [GATEWAY_PREFIXES.inventory]: stack.url('inventory-service'),
      [GATEWAY_PREFIXES.order]: stack.url('order-service'),
    });
    try {
      const secret = (await import(path.join(stack.dataDir, 'credentials.json'), { with: { type: 'json' } })) as { default: { authJwtSecret: string } };
      const result = await run('infra/deploy/smoke-order.ts', ['--gateway', gateway.url, '--timeout', '90s'], { AUTH_JWT_SECRET: secret.default.authJwtSecret });
      expect(result.code, result.stderr).toBe(0);
      expect(lastJson<SmokeResult>(result.stdout)).toMatchObject({ ok: true, status: 'confirmed' });
    } finally {
      await gateway.close();
    }
  }, 180_000);

  it("serves the analytics dashboard through the gateway: the page's links and its API calls carry the prefix", async () => {
    const gateway = await prefixGateway({ [GATEWAY_PREFIXES.analytics]: stack.url('analytics-service') });
    try {
      const page = await fetch(`${gateway.url}${GATEWAY_PREFIXES.analytics}/dashboard`);
      expect(page.status).toBe(200);
      const script = /<script type="module" src="([^"]+)"/.exec(await page.text())?.[1];
      expect(script).toBe(`${GATEWAY_PREFIXES.analytics}/dashboard/app.js`);
      expect((await fetch(`${gateway.url}${script}`)).status).toBe(200);
      const { apiRootOf } = await import('../../analytics-service/src/dashboard/client/api');
      const root = apiRootOf(`${gateway.url}${script}`);
      const projections = await fetch(`${gateway.url}${root}/v1/projections`, { headers: { authorization: `Bearer ${await stack.token('admin')}` } });
      expect(projections.status).toBe(200);
    } finally {
      await gateway.close();
    }
  }, 60_000);

  it('fails, saying why, when the services refuse its tokens (a key other than theirs)', async () => {
    const result = await run('infra/deploy/smoke-order.ts', ['--catalog', stack.url('catalog-service'), '--inventory', stack.url('inventory-service'), '--order', stack.url('order-service'), '--timeout', '10s'], {
      AUTH_JWT_SECRET: 'not-the-stack-key-but-long-enough-0123456789',
    });
    expect(result.code).toBe(1);
    const summary = lastJson<SmokeResult>(result.stdout);
    expect(summary.ok).toBe(false);
    expect(summary.reason).toMatch(/401/);
  }, 60_000);

  it('fails when no service is listening there, within its timeout', async () => {
    const result = await run('infra/deploy/smoke-order.ts', ['--gateway', 'http://127.0.0.1:9', '--timeout', '3s'], { AUTH_JWT_SECRET: 'x'.repeat(32) });
    expect(result.code).toBe(1);
    expect(lastJson<SmokeResult>(result.stdout).reason).toMatch(/timed out/);
  }, 60_000);

  it('the demo-data job loads nothing twice: a second run finds the catalog, stock and alert rules in place', async () => {
    const secret = (await import(path.join(stack.dataDir, 'credentials.json'), { with: { type: 'json' } })) as { default: { authJwtSecret: string } };
    const env = {
      CATALOG_URL: stack.url('catalog-service'),
      INVENTORY_URL: stack.url('inventory-service'),
      ANALYTICS_URL: stack.url('analytics-service'),
      AUTH_JWT_SECRET: secret.default.authJwtSecret,
    };
    const admin = await stack.token('admin');
    const stockOf = async (sku: string) => (await stack.request<{ received: number }>('inventory-service', 'GET', `/v1/stock/${sku}`, admin)).body.received;
    const before = await stockOf('BOO-0001');
    // npm start loaded the demo data on its first start: the job finds it all.
    const again = await run('infra/deploy/demo-data-job.ts', [], env);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again.stdout)).toEqual({ msg: 'demo data loaded', products: 60, alertRulesAdded: 0 });
    expect(await stockOf('BOO-0001')).toBe(before);
    const rules = await stack.request<{ items: { name: string }[] }>('analytics-service', 'GET', '/v1/alerts/rules', admin);
    expect(rules.body.items.length).toBe(new Set(rules.body.items.map((r) => r.name)).size);

    const missing = await run('infra/deploy/demo-data-job.ts', [], { ...env, AUTH_JWT_SECRET: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('AUTH_JWT_SECRET: required outside development mode');
  }, 180_000);
});
