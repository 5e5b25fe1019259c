/**
 * The demo-data job of docker-compose.yml and infra/k8s (image shop/tools):
 * waits until the catalog, inventory and analytics services are ready, then
 * loads the demo catalog with stock and the demo alert rules through their
 * admin APIs, as `npm start` does on a first start. Safe to run again: a
 * product that exists keeps it, its stock is received only if it never was,
 * and an alert rule with the same name is not added twice.
 *
 * Configuration (typed, like a service's): CATALOG_URL, INVENTORY_URL,
 * ANALYTICS_URL, AUTH_JWT_SECRET (required), AUTH_ISSUER, AUTH_AUDIENCE,
 * READY_TIMEOUT (default 5m).
 */
import { authConfigShape, env, loadConfig, signToken, ConfigError } from '@shop/platform';
import { loadDemoAlertRules, loadDemoData } from '../local/demo-data';

export const demoDataJobConfigShape = {
  CATALOG_URL: env.url({ protocols: ['http:', 'https:'] }),
  INVENTORY_URL: env.url({ protocols: ['http:', 'https:'] }),
  ANALYTICS_URL: env.url({ protocols: ['http:', 'https:'] }),
  READY_TIMEOUT: env.duration().default(300_000),
  ...authConfigShape,
};

async function waitReady(url: string, deadline: number): Promise<void> {
  for (;;) {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 in time (last: ${res?.status ?? 'no answer'})`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function main(): Promise<void> {
  // Production rules: the signing key has no default here.
  const config = loadConfig(demoDataJobConfigShape, { SHOP_ENV: 'production', ...process.env });
  const deadline = Date.now() + config.READY_TIMEOUT;
  const strip = (u: string) => u.replace(/\/+$/, '');
  const urls = { catalog: strip(config.CATALOG_URL), inventory: strip(config.INVENTORY_URL), analytics: strip(config.ANALYTICS_URL) };
  await Promise.all(Object.values(urls).map((u) => waitReady(u, deadline)));
  const token = await signToken({ sub: 'demo-data-job', roles: ['admin'], ttl: '30m' }, { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE });
  const products = await loadDemoData(urls, token);
  const rules = await loadDemoAlertRules(urls.analytics, token);
  console.log(JSON.stringify({ msg: 'demo data loaded', products, alertRulesAdded: rules }));
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err instanceof Error ? err.message : err);
  process.exit(1);
});
