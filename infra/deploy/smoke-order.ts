/**
 * npm run -s smoke -- (--gateway URL | --stack-file FILE | --catalog URL --inventory URL --order URL) [--timeout 120s]
 *
 * The order smoke test of the compose and K3s jobs, and of `npm start`: one
 * new product with stock through the admin APIs, one order placed by a
 * customer, then the order read until the saga confirmed it. Prints one JSON
 * line with what it did and how long each step took; exits 0 when the order
 * is confirmed, 1 otherwise (rejected, an unexpected status, or the timeout).
 *
 * Where the services are:
 * - `--gateway URL`: behind the gateway (Traefik in compose and on K3s),
 *   which routes `/<service>/v1/...` to that service's `/v1/...`
 *   (`GATEWAY_PREFIXES`);
 * - `--stack-file FILE`: the `stack.json` that `npm start` writes (the
 *   services' URLs; the signing key from `credentials.json` beside it);
 * - `--catalog`, `--inventory`, `--order`: each service's base URL.
 *
 * Tokens are signed with `AUTH_JWT_SECRET` (and `AUTH_ISSUER`,
 * `AUTH_AUDIENCE`), the key the services verify with: the compose `.env`, the
 * K3s secret, or the local stack's credentials.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { authConfigShape, loadConfig, parseDuration, signToken, type AuthSettings } from '@shop/platform';

/** The gateway's public routes: the prefix it strips for each service (docker-compose.yml's Traefik, infra/k8s's Ingress). */
export const GATEWAY_PREFIXES = {
  catalog: '/catalog',
  inventory: '/inventory',
  order: '/order',
  coordinator: '/coordinator',
  analytics: '/analytics',
} as const;

export interface SmokeTargets {
  catalog: string;
  inventory: string;
  order: string;
}

export interface SmokeStep {
  step: string;
  ms: number;
}

export interface SmokeResult {
  ok: boolean;
  orderId?: string;
  sku?: string;
  status?: string;
  reason?: string;
  steps: SmokeStep[];
}

export function gatewayTargets(gateway: string): SmokeTargets {
  const base = gateway.replace(/\/+$/, '');
  return { catalog: base + GATEWAY_PREFIXES.catalog, inventory: base + GATEWAY_PREFIXES.inventory, order: base + GATEWAY_PREFIXES.order };
}

/** A local stack's service URLs (by service name, e.g. `order-service`) and signing key, from its `stack.json` and the `credentials.json` beside it. */
export async function readStackFile(file: string): Promise<{ url(service: string): string; secret: string }> {
  const stack = JSON.parse(await fs.readFile(file, 'utf8')) as { services?: Record<string, string> };
  const credentials = JSON.parse(await fs.readFile(path.join(path.dirname(file), 'credentials.json'), 'utf8')) as { authJwtSecret?: string };
  if (!credentials.authJwtSecret) throw new Error(`no authJwtSecret in ${path.join(path.dirname(file), 'credentials.json')}`);
  return {
    url(name) {
      const u = stack.services?.[name];
      if (!u) throw new Error(`${file} names no ${name}: is the stack running?`);
      return u;
    },
    secret: credentials.authJwtSecret,
  };
}

/** The targets and signing settings of a local stack, from its `stack.json` and the `credentials.json` beside it. */
export async function stackFileTargets(file: string): Promise<{ targets: SmokeTargets; secret: string }> {
  const { url, secret } = await readStackFile(file);
  return { targets: { catalog: url('catalog-service'), inventory: url('inventory-service'), order: url('order-service') }, secret };
}

const TERMINAL = new Set(['confirmed', 'rejected', 'cancelled']);

/** Places one order on a fresh product and waits for the saga to confirm it. */
export async function runSmoke(targets: SmokeTargets, auth: AuthSettings, options: { timeoutMs: number; log?: (line: string) => void }): Promise<SmokeResult> {
  const deadline = Date.now() + options.timeoutMs;
  const steps: SmokeStep[] = [];
  const log = options.log ?? (() => undefined);
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const value = await work();
    steps.push({ step, ms: Date.now() - started });
    log(`${step}: ${Date.now() - started} ms`);
    return value;
  };
  const admin = await signToken({ sub: 'smoke-admin', roles: ['admin'], ttl: '15m' }, auth);
  const customer = await signToken({ sub: `smoke-${randomUUID().slice(0, 8)}`, roles: ['customer'], ttl: '15m' }, auth);
  const sku = `SMOKE-${randomUUID().slice(0, 8).toUpperCase()}`;
  try {
    // The gateway and the services may still be starting: retry until the catalog answers.
    await timed('catalog reachable', () =>
      until(deadline, async () => {
        const res = await call('GET', `${targets.catalog}/v1/products?limit=1`, admin).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      }),
    );
    await timed('product added', async () => {
      const res = await call('POST', `${targets.catalog}/v1/products`, admin, {
        sku,
        name: 'Smoke test item',
        description: 'Added by the order smoke test.',
        category: 'smoke',
        price: { amount: 1_000, currency: 'EUR' },
      });
      expectStatus(res, [201], 'adding the product');
    });
    await timed('stock received', () =>
      // The inventory learns of the product from the catalog's event: retry until it does.
      until(deadline, async () => {
        const res = await call('POST', `${targets.inventory}/v1/stock/${sku}/receipts`, admin, { quantity: 5 }, { 'idempotency-key': `smoke-stock-${sku}` });
        if (res.status === 404 || res.status === 409) return undefined;
        expectStatus(res, [200, 201, 202], 'receiving stock');
        return true;
      }),
    );
    const orderId = await timed('order placed', async () => {
      const res = await call('POST', `${targets.order}/v1/orders`, customer, { lines: [{ sku, quantity: 1 }], paymentToken: 'tok_approve' }, {
        'idempotency-key': randomUUID(),
      });
      expectStatus(res, [202], 'placing the order');
      return (res.body as { orderId: string }).orderId;
    });
    const order = await timed('order terminal', () =>
      until(deadline, async () => {
        const res = await call('GET', `${targets.order}/v1/orders/${orderId}`, customer);
        if (res.status === 404) return undefined;
        expectStatus(res, [200], 'reading the order');
        const body = res.body as { status: string; reason?: string };
        return TERMINAL.has(body.status) ? body : undefined;
      }),
    );
    if (order.status !== 'confirmed') {
      return { ok: false, orderId, sku, status: order.status, reason: `the order ended ${order.status}: ${order.reason ?? 'no reason given'}`, steps };
    }
    return { ok: true, orderId, sku, status: order.status, steps };
  } catch (err) {
    return { ok: false, sku, reason: err instanceof Error ? err.message : String(err), steps };
  }
}

interface Reply {
  status: number;
  body: unknown;
}

async function call(method: string, url: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text for the message
  }
  return { status: res.status, body: parsed };
}

function expectStatus(res: Reply, expected: number[], what: string): void {
  if (!expected.includes(res.status)) throw new Error(`${what}: ${res.status} ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
}

/** Runs `attempt` every 500 ms until it returns a value or the deadline passes. */
async function until<T>(deadline: number, attempt: () => Promise<T | undefined>): Promise<T> {
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
      if (!(err instanceof TypeError)) throw err; // a refused connection is a TypeError from fetch: retried
    }
    if (Date.now() > deadline) throw new Error(`timed out${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string' },
      'stack-file': { type: 'string' },
      catalog: { type: 'string' },
      inventory: { type: 'string' },
      order: { type: 'string' },
      timeout: { type: 'string', default: '120s' },
    },
  });
  const timeoutMs = parseDuration(values.timeout);
  if (timeoutMs === undefined) throw new UsageError(`--timeout: expected a duration such as 120s, not ${values.timeout}`);
  let targets: SmokeTargets;
  let secret: string | undefined;
  if (values.gateway) targets = gatewayTargets(values.gateway);
  else if (values['stack-file']) ({ targets, secret } = await stackFileTargets(values['stack-file']));
  else if (values.catalog && values.inventory && values.order) targets = { catalog: values.catalog, inventory: values.inventory, order: values.order };
  else throw new UsageError('name the services: --gateway URL, --stack-file FILE, or --catalog, --inventory and --order');
  const config = loadConfig(authConfigShape, { SHOP_ENV: 'production', ...process.env, ...(secret ? { AUTH_JWT_SECRET: secret } : {}) });
  const result = await runSmoke(
    targets,
    { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE },
    { timeoutMs, log: (line) => console.error(line) },
  );
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

class UsageError extends Error {}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  });
}
